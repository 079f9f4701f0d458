package soefake

import (
	"encoding/json"
	"net/http"
	"slices"
)

// changeSMEUsers is POST /tags/{id}/subject-matter-experts/users (uid 0: the
// body is an array of user ids to add) and DELETE …/users/{uid}. As SOE: only
// moderators and admins may (403 otherwise), 422 when SMEs are off, 400 for
// an unknown tag or user (the operations document no 404).
func (s *Server) changeSMEUsers(w http.ResponseWriter, c *apiCtx, tagID, uid int) {
	if s.smesOff {
		writeProblem(w, http.StatusUnprocessableEntity, "/v3/errors/sme/disabled",
			"Subject matter experts feature not enabled", "The subject matter experts feature is not enabled on this site.")
		return
	}
	if !c.user.Admin && c.user.Role != "Moderator" {
		forbidden(w, "Only moderators can change the subject matter experts of a tag.")
		return
	}
	t := c.site.tags[tagID]
	if t == nil {
		writeValidation(w, map[string][]string{"tagId": {"No tag with that id."}})
		return
	}
	if uid != 0 {
		t.SMEUsers = slices.DeleteFunc(t.SMEUsers, func(id int) bool { return id == uid })
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var ids []int
	if err := json.Unmarshal(c.body, &ids); err != nil || len(ids) == 0 {
		writeValidation(w, map[string][]string{"$": {"The JSON value could not be converted to System.Int32[]."}})
		return
	}
	for _, id := range ids {
		if s.users[id] == nil {
			writeValidation(w, map[string][]string{"userIds": {"No user with id " + itoa(id) + "."}})
			return
		}
	}
	for _, id := range ids {
		if !slices.Contains(t.SMEUsers, id) {
			t.SMEUsers = append(t.SMEUsers, id)
		}
	}
	writeJSON(w, http.StatusOK, s.smeJSON(t))
}
