package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// files.uploadV2 as Slack runs it: files.getUploadURLExternal hands out an
// upload URL and a file id, the app POSTs the bytes there (multipart, field
// "file"), and files.completeUploadExternal shares the finished file in a
// channel, as a message of its own (with initial_comment as its text).

// File is an uploaded file.
type File struct {
	ID, Name, Title, AltText string
	Length                   int    // as announced to files.getUploadURLExternal
	Content                  []byte // what was uploaded
	Channel, ThreadTS        string // where it was shared ("" before files.completeUploadExternal)
	Comment                  string
	MessageTS                string // the message that shows it
	At                       time.Time
}

func (f *Fake) apiGetUploadURL(q *apiReq) apiResp {
	name := q.str("filename")
	n, err := strconv.Atoi(q.str("length"))
	switch {
	case name == "":
		return fail("invalid_arguments", "[ERROR] missing required field: filename")
	case err != nil || n <= 0:
		return fail("invalid_arguments", "[ERROR] missing required field: length")
	case n > 1<<30:
		return fail("file_too_large")
	}
	if f.files == nil {
		f.files = map[string]*File{}
	}
	id := fmt.Sprintf("F%08d", f.nextIDLocked())
	f.files[id] = &File{ID: id, Name: name, AltText: q.str("alt_txt"), Length: n}
	return ok(map[string]any{"upload_url": f.srv.URL + "/upload/" + id, "file_id": id})
}

// serveUpload receives the bytes of a file (the upload URL). Slack answers
// "OK - <size>" in plain text.
func (f *Fake) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.opts.BotToken {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	data, err := readUpload(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	file := f.files[id]
	switch {
	case file == nil || file.Content != nil:
		f.mu.Unlock()
		http.Error(w, "unknown or used upload URL", http.StatusNotFound)
		return
	case len(data) != file.Length:
		f.mu.Unlock()
		http.Error(w, fmt.Sprintf("length %d announced, %d sent", file.Length, len(data)), http.StatusBadRequest)
		return
	}
	file.Content = data
	f.notifyLocked()
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(data)))
}

// readUpload is the "file" part of a multipart body, or the raw body
// (64 MiB at most).
func readUpload(r *http.Request) ([]byte, error) {
	const limit = 64 << 20
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return io.ReadAll(io.LimitReader(r.Body, limit))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no file part: %w", err)
		}
		if part.FormName() == "file" {
			return io.ReadAll(io.LimitReader(part, limit))
		}
	}
}

func (f *Fake) apiCompleteUpload(q *apiReq) apiResp {
	var specs []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(q.str("files")), &specs); err != nil || len(specs) == 0 {
		return fail("invalid_arguments", "[ERROR] files must be a JSON array of {id, title}")
	}
	for _, s := range specs {
		if file := f.files[s.ID]; file == nil || file.Content == nil || file.Channel != "" {
			return fail("file_not_found")
		}
	}
	var chID string
	if arg := q.str("channel_id"); arg != "" {
		id, ch, code := f.resolveChannelLocked(arg)
		if code != "" {
			return fail(code)
		}
		if code := f.canPostLocked(ch); code != "" {
			return fail(code)
		}
		chID = id
	}
	var out []map[string]any
	var ts string
	if chID != "" {
		ts = f.nextTSLocked()
		m := Message{Channel: chID, TS: ts, ThreadTS: q.str("thread_ts"), User: f.opts.BotUserID, Text: q.str("initial_comment"),
			BotPosted: true, Kind: "file", At: time.Now()}
		for _, s := range specs {
			m.FileIDs = append(m.FileIDs, s.ID)
		}
		f.history[chID] = append(f.history[chID], &msgRec{m: m})
		f.bumpThreadLocked(chID, m.ThreadTS)
	}
	for _, s := range specs {
		file := f.files[s.ID]
		file.Title, file.Channel, file.ThreadTS, file.Comment, file.MessageTS, file.At = s.Title, chID, q.str("thread_ts"), q.str("initial_comment"), ts, time.Now()
		if file.Title == "" {
			file.Title = file.Name
		}
		out = append(out, map[string]any{"id": file.ID, "title": file.Title})
	}
	return ok(map[string]any{"files": out})
}

// Files returns the files shared in channel (every uploaded file when
// channel is ""), oldest first.
func (f *Fake) Files(channel string) []File {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []File
	for _, file := range f.files {
		if file.Content != nil && (channel == "" || file.Channel == channel) {
			c := *file
			c.Content = slices.Clone(file.Content)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// WaitFile waits until a file whose title contains match is shared in channel.
func (f *Fake) WaitFile(ctx context.Context, channel, match string) (File, error) {
	for {
		f.mu.Lock()
		ch := f.changed
		f.mu.Unlock()
		for _, file := range f.Files(channel) {
			if file.Channel != "" && strings.Contains(file.Title, match) {
				return file, nil
			}
		}
		select {
		case <-ctx.Done():
			return File{}, fmt.Errorf("slackfake: no file %q shared in %s: %w", match, channel, ctx.Err())
		case <-ch:
		}
	}
}

// ShareFilesAsUser is user sharing files (by name) in channel with text as
// the message's comment, as a person does from Slack's composer: one
// message carrying the files (its "files" in the Web API and in shortcut
// payloads).
func (f *Fake) ShareFilesAsUser(user, channel, text, threadTS string, names ...string) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil {
		f.files = map[string]*File{}
	}
	now := time.Now()
	m := Message{Channel: channel, TS: f.nextTSLocked(), ThreadTS: threadTS, User: user, Text: text, Kind: "message", At: now}
	for _, name := range names {
		id := fmt.Sprintf("F%08d", f.nextIDLocked())
		content := []byte("contents of " + name)
		f.files[id] = &File{ID: id, Name: name, Title: name, Length: len(content), Content: content,
			Channel: channel, ThreadTS: threadTS, MessageTS: m.TS, At: now}
		m.FileIDs = append(m.FileIDs, id)
	}
	f.history[channel] = append(f.history[channel], &msgRec{m: m})
	f.bumpThreadLocked(channel, threadTS)
	f.notifyLocked()
	return m
}

// filesJSONLocked is the "files" of a message as Slack shows it.
func (f *Fake) filesJSONLocked(ids []string) []map[string]any {
	var out []map[string]any
	for _, id := range ids {
		file := f.files[id]
		if file == nil {
			continue
		}
		out = append(out, map[string]any{"id": file.ID, "name": file.Name, "title": file.Title, "size": file.Length,
			"mimetype": "application/octet-stream", "filetype": "binary", "mode": "hosted", "created": file.At.Unix()})
	}
	return out
}
