package soefake

import "strings"

// SetCommunityTags replaces the tags of community id (tests of subscriptions
// that follow a community as it changes). Only tags the main site has are
// listed in the community's responses.
func (s *Server) SetCommunityTags(id int, tags ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cm := range s.communities {
		if cm.ID == id {
			cm.Tags = nil
			for _, t := range tags {
				cm.Tags = append(cm.Tags, strings.ToLower(t))
			}
		}
	}
}
