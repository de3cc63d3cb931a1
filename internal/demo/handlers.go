package demo

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// provisionFor is how long a new cluster stays "provisioning" before it
// reports "active", so that a UI shows a transition without any real work.
const provisionFor = 5 * time.Second

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	ar := s.newRequest(w, r)
	ar.user, ar.tok = s.authenticate(r)
	s.commonHeaders(ar)
	switch {
	case underPrefix(r.URL.Path, "/v3-public"):
		s.servePublic(ar)
	case underPrefix(r.URL.Path, "/v1"):
		s.serveSteve(ar)
	default:
		s.serveV3(ar)
	}
}

// serveV3 routes /v3/<type>[/<id>[/<link>]] in norman's order: auth,
// method, type, CSRF, action, then the handler.
func (s *Server) serveV3(ar *apiRequest) {
	if ar.user == nil {
		s.writeError(ar, errUnauthorized("must authenticate"))
		return
	}
	if e := checkMethod(ar.method); e != nil {
		s.writeError(ar, e)
		return
	}
	parts := splitPath(strings.TrimPrefix(ar.r.URL.Path, "/v3"))
	if len(parts) == 0 {
		if ar.method != http.MethodGet {
			s.writeError(ar, methodNotAllowed(ar.method))
			return
		}
		s.write(ar, http.StatusOK, s.apiRoot(ar))
		return
	}
	d := schemaIndex[strings.ToLower(parts[0])]
	if d == nil || len(parts) > 3 {
		s.writeError(ar, newError(http.StatusNotFound, "NotFound", "failed to find schema "+parts[0]))
		return
	}
	var id, link string
	if len(parts) > 1 {
		id = parts[1]
	}
	if len(parts) > 2 {
		link = parts[2]
	}
	isAction := ar.action != "" && ar.method == http.MethodPost
	if !isAction && !d.allows(ar.method, id != "") {
		s.writeError(ar, methodNotAllowed(ar.method))
		return
	}
	if link != "" && ar.method != http.MethodGet {
		s.writeError(ar, methodNotAllowed(ar.method))
		return
	}
	if e := s.checkCSRF(ar); e != nil {
		s.writeError(ar, e)
		return
	}
	if isAction {
		s.action(ar, d, id)
		return
	}
	switch {
	case link != "":
		s.getLink(ar, d, id, link)
	case id == "" && ar.method == http.MethodGet:
		s.listType(ar, d)
	case id == "" && ar.method == http.MethodPost:
		s.createType(ar, d)
	case ar.method == http.MethodGet:
		s.getType(ar, d, id)
	case ar.method == http.MethodPut:
		s.updateType(ar, d, id)
	case ar.method == http.MethodDelete:
		s.deleteType(ar, d, id)
	}
}

func (s *Server) action(ar *apiRequest, d *schemaDef, id string) {
	actions := d.CollectionActions
	if id != "" {
		actions = d.ResourceActions
	}
	if _, ok := actions[ar.action]; !ok {
		s.writeError(ar, newError(422, "InvalidAction", "Invalid action: "+ar.action))
		return
	}
	switch d.ID + "." + ar.action {
	case "cluster.generateKubeconfig":
		s.generateKubeconfig(ar, id)
	case "cluster.exportYaml":
		s.exportYaml(ar, id)
	case "user.changepassword":
		if id == "" {
			id = ar.user.ID // the collection action changes the caller's password
		}
		s.changePassword(ar, id)
	case "token.logout":
		s.logout(ar)
	}
}

func isGeneric(d *schemaDef) bool {
	switch d.ID {
	case "cluster", "nodeTemplate", "nodePool", "cloudCredential":
		return true
	}
	return false
}

func (s *Server) listType(ar *apiRequest, d *schemaDef) {
	switch {
	case isGeneric(d):
		s.listObjects(ar, d, "", "")
	case d.ID == "token":
		s.listTokens(ar)
	case d.ID == "user":
		s.listUsers(ar)
	case d.ID == "schema":
		s.listSchemas(ar)
	}
}

func (s *Server) createType(ar *apiRequest, d *schemaDef) {
	switch {
	case isGeneric(d):
		s.createObject(ar, d)
	case d.ID == "token":
		s.createToken(ar)
	case d.ID == "user":
		s.createUser(ar)
	}
}

func (s *Server) getType(ar *apiRequest, d *schemaDef, id string) {
	switch {
	case isGeneric(d):
		s.getObject(ar, d, id)
	case d.ID == "token":
		s.getToken(ar, id)
	case d.ID == "user":
		s.getUser(ar, id)
	case d.ID == "schema":
		s.getSchema(ar, id)
	}
}

func (s *Server) updateType(ar *apiRequest, d *schemaDef, id string) {
	switch {
	case isGeneric(d):
		s.updateObject(ar, d, id)
	case d.ID == "user":
		s.updateUser(ar, id)
	}
}

func (s *Server) deleteType(ar *apiRequest, d *schemaDef, id string) {
	switch {
	case isGeneric(d):
		s.deleteObject(ar, d, id)
	case d.ID == "token":
		s.deleteToken(ar, id)
	case d.ID == "user":
		s.deleteUser(ar, id)
	}
}

func (s *Server) apiRoot(ar *apiRequest) map[string]any {
	links := map[string]any{"self": ar.base + "/v3", "root": ar.base + "/v3"}
	for _, d := range schemas {
		if !d.Embedded {
			links[d.Plural] = ar.base + d.collectionPath()
		}
	}
	return map[string]any{
		"id": "v3", "type": "apiRoot", "baseType": "apiRoot",
		"apiVersion":  map[string]any{"group": "management.cattle.io", "path": "/v3", "version": "v3"},
		"links":       links,
		actionKey(ar): map[string]any{},
	}
}

// Generic objects: clusters, node templates, node pools, cloud credentials.

func (s *Server) listObjects(ar *apiRequest, d *schemaDef, parentField, parentID string) {
	now := time.Now()
	s.mu.Lock()
	items := make([]map[string]any, 0, len(s.st.Objects[d.ID]))
	for _, o := range s.st.Objects[d.ID] {
		if parentField != "" && o.Fields[parentField] != parentID {
			continue
		}
		items = append(items, s.renderObject(ar, d, o, now))
	}
	s.mu.Unlock()
	s.write(ar, http.StatusOK, s.list(ar, d, items))
}

func (s *Server) getLink(ar *apiRequest, d *schemaDef, id, link string) {
	if !isGeneric(d) {
		s.writeError(ar, newError(http.StatusNotFound, "NotFound", "Link not found"))
		return
	}
	s.mu.Lock()
	_, exists := s.st.Objects[d.ID][id]
	s.mu.Unlock()
	if !exists {
		s.writeError(ar, notFound(d, id))
		return
	}
	for name, l := range d.Links {
		if strings.EqualFold(name, link) {
			s.listObjects(ar, schemas[l.Type], l.Field, id)
			return
		}
	}
	s.writeError(ar, newError(http.StatusNotFound, "NotFound", "Link not found"))
}

func (s *Server) getObject(ar *apiRequest, d *schemaDef, id string) {
	if d.ID == "cluster" && s.variant == VariantSlow {
		if !sleepCtx(ar.r.Context(), slowDelay) {
			return
		}
	}
	s.mu.Lock()
	o := s.st.Objects[d.ID][id]
	var out map[string]any
	if o != nil {
		out = s.renderObject(ar, d, o, time.Now())
	}
	s.mu.Unlock()
	if o == nil {
		s.writeError(ar, notFound(d, id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// createInput reads a create request's body as the schema accepts it,
// with defaults filled in; on a bad body it answers the error itself and
// returns false.
func (s *Server) createInput(ar *apiRequest, d *schemaDef) (map[string]any, bool) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return nil, false
	}
	in, e := convertInput(d, body, opCreate)
	if e != nil {
		s.writeError(ar, e)
		return nil, false
	}
	applyDefaults(d, in)
	return in, true
}

func (s *Server) createObject(ar *apiRequest, d *schemaDef) {
	fields, ok := s.createInput(ar, d)
	if !ok {
		return
	}
	var extra []string
	if d.ID == "cluster" && s.variant == VariantExtraRequired {
		extra = append(extra, "description")
	}
	if e := checkRequired(d, fields, extra...); e != nil {
		s.writeError(ar, e)
		return
	}
	now := time.Now().UTC()
	s.mu.Lock()
	if e := s.validateLocked(d, "", fields); e != nil {
		s.mu.Unlock()
		s.writeError(ar, e)
		return
	}
	o := &object{ID: s.newIDLocked(d, fields), Created: now, UUID: newUUID(), CreatorID: ar.user.ID, Fields: fields}
	if ann, ok := fields["annotations"].(map[string]any); ok {
		ann["field.cattle.io/creatorId"] = ar.user.ID
	}
	if d.ID == "nodeTemplate" && fields["driver"] == nil {
		for _, drv := range []string{"amazonec2", "digitalocean"} {
			if fields[drv+"Config"] != nil {
				fields["driver"] = drv
			}
		}
	}
	s.st.Objects[d.ID][o.ID] = o
	s.saveLocked()
	out := s.renderObject(ar, d, o, now)
	s.mu.Unlock()
	status := http.StatusCreated
	if d.ID == "cluster" && s.variant == VariantStatusChange {
		status = http.StatusOK
	}
	s.write(ar, status, out)
}

func (s *Server) updateObject(ar *apiRequest, d *schemaDef, id string) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	in, e := convertInput(d, body, opUpdate)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	replace := ar.query.Get("_replace") == "true"
	out, e := func() (map[string]any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.st.Objects[d.ID][id]
		if o == nil {
			return nil, notFound(d, id)
		}
		fields := mergeUpdate(d, o.Fields, in, replace)
		applyDefaults(d, fields)
		if e := checkRequired(d, fields); e != nil {
			return nil, e
		}
		if e := s.validateLocked(d, id, fields); e != nil {
			return nil, e
		}
		o.Fields = fields
		s.saveLocked()
		return s.renderObject(ar, d, o, time.Now()), nil
	}()
	if e != nil {
		s.writeError(ar, e)
		return
	}
	s.write(ar, http.StatusOK, out)
}

func (s *Server) deleteObject(ar *apiRequest, d *schemaDef, id string) {
	now := time.Now().UTC()
	s.mu.Lock()
	o := s.st.Objects[d.ID][id]
	if o == nil {
		s.mu.Unlock()
		s.writeError(ar, notFound(d, id))
		return
	}
	out := s.renderObject(ar, d, o, now)
	s.deleteObjectLocked(d, o)
	s.saveLocked()
	s.mu.Unlock()
	out["state"], out["transitioning"], out["transitioningMessage"] = "removing", "yes", ""
	out["removed"], _ = timestamps(now)
	s.write(ar, http.StatusOK, out)
}

// deleteObjectLocked removes o and what cannot outlive it: a cluster's node
// pools, its cluster-scoped tokens and its /v1 twin.
func (s *Server) deleteObjectLocked(d *schemaDef, o *object) {
	delete(s.st.Objects[d.ID], o.ID)
	if d.ID != "cluster" {
		return
	}
	for id, p := range s.st.Objects["nodePool"] {
		if p.Fields["clusterId"] == o.ID {
			delete(s.st.Objects["nodePool"], id)
		}
	}
	for name, t := range s.st.Tokens {
		if t.ClusterID == o.ID {
			delete(s.st.Tokens, name)
		}
	}
	if o.Owner != "" {
		delete(s.st.Provisioning, o.Owner)
	}
}

// validateLocked checks what needs the stored state: references and the
// unique cluster name.
func (s *Server) validateLocked(d *schemaDef, selfID string, fields map[string]any) *apiError {
	for _, name := range slices.Sorted(maps.Keys(d.Fields)) {
		target := referenceTarget(d.Fields[name].Type)
		ref, _ := fields[name].(string)
		if target == "" || ref == "" {
			continue
		}
		if !s.existsLocked(target, ref) {
			return fieldError(422, "InvalidReference", name, "")
		}
	}
	if d.ID == "cluster" {
		name, _ := fields["name"].(string)
		for _, o := range s.st.Objects["cluster"] {
			if o.ID != selfID && o.Fields["name"] == name {
				return fieldError(422, "NotUnique", "Cluster name", "")
			}
		}
	}
	return nil
}

func (s *Server) existsLocked(typ, id string) bool {
	switch typ {
	case "user":
		return s.st.Users[id] != nil
	case "token":
		return s.st.Tokens[id] != nil
	}
	return s.st.Objects[typ][id] != nil
}

func (s *Server) newIDLocked(d *schemaDef, fields map[string]any) string {
	for {
		id := newName(d.IDPrefix)
		switch {
		case d.ID == "nodePool":
			id = fields["clusterId"].(string) + ":" + id
		case d.Namespace != "":
			id = d.Namespace + ":" + id
		}
		if s.st.Objects[d.ID][id] == nil {
			return id
		}
	}
}

// renderObject builds the resource norman would send for o. Callers hold
// s.mu (a cluster's nodeCount reads its node pools).
func (s *Server) renderObject(ar *apiRequest, d *schemaDef, o *object, now time.Time) map[string]any {
	out := deepCopyMap(o.Fields)
	prepareOutput(d, out)
	created, createdTS := timestamps(o.Created)
	out["id"], out["type"], out["baseType"] = o.ID, d.ID, d.ID
	out["created"], out["createdTS"], out["uuid"], out["creatorId"] = created, createdTS, o.UUID, o.CreatorID
	for _, k := range []string{"labels", "annotations"} {
		if out[k] == nil {
			out[k] = map[string]any{}
		}
	}
	if ns, _, ok := strings.Cut(o.ID, ":"); ok {
		out["namespaceId"] = ns
	}
	self := ar.base + d.collectionPath() + "/" + o.ID
	links := map[string]any{"self": self}
	if d.allows(http.MethodPut, true) {
		links["update"] = self
	}
	if d.allows(http.MethodDelete, true) {
		links["remove"] = self
	}
	for name := range d.Links {
		links[name] = self + "/" + strings.ToLower(name)
	}
	out["links"] = links
	actions := map[string]any{}
	for name := range d.ResourceActions {
		actions[name] = self + "?action=" + name
	}
	out[actionKey(ar)] = actions

	switch d.ID {
	case "cluster":
		s.decorateClusterLocked(out, o, now)
	case "nodePool":
		_, out["name"], _ = strings.Cut(o.ID, ":")
		out["state"], out["transitioning"], out["transitioningMessage"] = "active", "no", ""
	case "nodeTemplate":
		out["state"], out["transitioning"], out["transitioningMessage"] = "active", "no", ""
	}
	return out
}

func (s *Server) decorateClusterLocked(out map[string]any, o *object, now time.Time) {
	rke, _ := out["rancherKubernetesEngineConfig"].(map[string]any)
	switch {
	case o.Driver != "":
		out["driver"] = o.Driver
	case rke != nil:
		out["driver"] = "rancherKubernetesEngine"
	default:
		out["driver"] = "imported"
	}
	ready := now.Sub(o.Created) >= provisionFor
	created, _ := timestamps(o.Created)
	status := "Unknown"
	if ready {
		status = "True"
	}
	out["conditions"] = []any{
		map[string]any{"type": "Pending", "status": "True", "lastUpdateTime": created},
		map[string]any{"type": "InitialRolesPopulated", "status": "True", "lastUpdateTime": created},
		map[string]any{"type": "Provisioned", "status": status, "lastUpdateTime": created},
		map[string]any{"type": "Ready", "status": status, "lastUpdateTime": created},
	}
	if ready {
		out["state"], out["transitioning"], out["transitioningMessage"] = "active", "no", ""
	} else {
		out["state"], out["transitioning"], out["transitioningMessage"] = "provisioning", "yes", ""
	}
	nodes := 0.0
	for _, p := range s.st.Objects["nodePool"] {
		if p.Fields["clusterId"] == o.ID {
			q, _ := p.Fields["quantity"].(float64)
			nodes += q
		}
	}
	out["nodeCount"] = nodes
	if s.variant == VariantRenameField && rke != nil {
		if v, ok := rke["kubernetesVersion"]; ok {
			delete(rke, "kubernetesVersion")
			rke["k8sVersion"] = v
		}
	}
}

// Schemas.

func (s *Server) listSchemas(ar *apiRequest) {
	var items []map[string]any
	for _, d := range schemas {
		items = append(items, s.renderSchema(ar, d))
	}
	s.write(ar, http.StatusOK, s.list(ar, schemas["schema"], items))
}

func (s *Server) getSchema(ar *apiRequest, id string) {
	for _, d := range schemas {
		if strings.EqualFold(d.ID, id) {
			s.write(ar, http.StatusOK, s.renderSchema(ar, d))
			return
		}
	}
	s.writeError(ar, notFound(schemas["schema"], id))
}

func (s *Server) renderSchema(ar *apiRequest, d *schemaDef) map[string]any {
	out := d.resource(ar.base)
	if ar.actionLinks {
		out["actionLinks"] = out["actions"]
		delete(out, "actions")
	}
	return out
}

// Tokens.

func (s *Server) renderToken(ar *apiRequest, t *token, current *token) map[string]any {
	now := time.Now()
	created, createdTS := timestamps(t.Created)
	self := ar.base + "/v3/tokens/" + t.Name
	expiresAt := ""
	if e := t.expiresAt(); !e.IsZero() {
		expiresAt = e.UTC().Format(time.RFC3339)
	}
	var clusterID any
	if t.ClusterID != "" {
		clusterID = t.ClusterID
	}
	return map[string]any{
		"id": t.Name, "name": t.Name, "type": "token", "baseType": "token",
		"authProvider": "local", "clusterId": clusterID,
		"created": created, "createdTS": createdTS, "creatorId": nil,
		"current": current != nil && current.Name == t.Name, "description": t.Description,
		"enabled": true, "expired": t.expired(now), "expiresAt": expiresAt,
		"isDerived": t.Kind != kindSession, "lastUpdateTime": "",
		"labels":      map[string]any{"authn.management.cattle.io/token-userId": t.UserID},
		"annotations": map[string]any{},
		"links":       map[string]any{"self": self, "remove": self},
		actionKey(ar): map[string]any{},
		"ttl":         t.TTL, "userId": t.UserID, "userPrincipal": "local://" + t.UserID, "uuid": t.UUID,
	}
}

func (s *Server) listTokens(ar *apiRequest) {
	s.mu.Lock()
	var items []map[string]any
	for _, t := range s.st.Tokens {
		if t.UserID == ar.user.ID {
			items = append(items, s.renderToken(ar, t, ar.tok))
		}
	}
	s.mu.Unlock()
	s.write(ar, http.StatusOK, s.list(ar, schemas["token"], items))
}

// ownTokenLocked returns the caller's token id; other users' tokens are
// invisible, as in Rancher.
func (s *Server) ownTokenLocked(ar *apiRequest, id string) *token {
	t := s.st.Tokens[id]
	if t == nil || t.UserID != ar.user.ID {
		return nil
	}
	return t
}

func (s *Server) getToken(ar *apiRequest, id string) {
	s.mu.Lock()
	t := s.ownTokenLocked(ar, id)
	var out map[string]any
	if t != nil {
		out = s.renderToken(ar, t, ar.tok)
	}
	s.mu.Unlock()
	if t == nil {
		s.writeError(ar, notFound(schemas["token"], id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

// createToken is POST /v3/tokens: an API key whose secret appears in this
// response only.
func (s *Server) createToken(ar *apiRequest) {
	d := schemas["token"]
	in, ok := s.createInput(ar, d)
	if !ok {
		return
	}
	s.mu.Lock()
	if e := s.validateLocked(d, "", in); e != nil {
		s.mu.Unlock()
		s.writeError(ar, e)
		return
	}
	t := &token{Name: newName("token-"), Secret: newTokenSecret(), UserID: ar.user.ID, Kind: kindAPIKey,
		Created: time.Now().UTC(), UUID: newUUID()}
	t.Description, _ = in["description"].(string)
	t.ClusterID, _ = in["clusterId"].(string)
	if ttl, ok := in["ttl"].(float64); ok && ttl > 0 {
		t.TTL = int64(ttl)
	}
	for s.st.Tokens[t.Name] != nil {
		t.Name = newName("token-")
	}
	s.st.Tokens[t.Name] = t
	s.saveLocked()
	out := s.renderToken(ar, t, ar.tok)
	s.mu.Unlock()
	out["token"] = t.value()
	s.write(ar, http.StatusCreated, out)
}

func (s *Server) deleteToken(ar *apiRequest, id string) {
	s.mu.Lock()
	t := s.ownTokenLocked(ar, id)
	var out map[string]any
	if t != nil {
		out = s.renderToken(ar, t, ar.tok)
		delete(s.st.Tokens, id)
		s.saveLocked()
	}
	s.mu.Unlock()
	if t == nil {
		s.writeError(ar, notFound(schemas["token"], id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

// Users.

func (s *Server) renderUser(ar *apiRequest, u *user) map[string]any {
	created, createdTS := timestamps(u.Created)
	self := ar.base + "/v3/users/" + u.ID
	return map[string]any{
		"id": u.ID, "type": "user", "baseType": "user",
		"username": u.Username, "name": u.Name, "description": u.Description,
		"enabled": u.Enabled, "mustChangePassword": u.MustChangePassword,
		"me": ar.user != nil && ar.user.ID == u.ID, "principalIds": []any{"local://" + u.ID},
		"created": created, "createdTS": createdTS, "creatorId": nil, "uuid": u.UUID,
		"state": "active", "transitioning": "no", "transitioningMessage": "",
		"labels": map[string]any{}, "annotations": map[string]any{},
		"links":       map[string]any{"self": self, "update": self, "remove": self},
		actionKey(ar): map[string]any{"changepassword": self + "?action=changepassword"},
	}
}

func (s *Server) listUsers(ar *apiRequest) {
	me := ar.query.Get("me") == "true"
	s.mu.Lock()
	var items []map[string]any
	for _, u := range s.st.Users {
		if !me || u.ID == ar.user.ID {
			items = append(items, s.renderUser(ar, u))
		}
	}
	s.mu.Unlock()
	s.write(ar, http.StatusOK, s.list(ar, schemas["user"], items))
}

func (s *Server) getUser(ar *apiRequest, id string) {
	s.mu.Lock()
	u := s.st.Users[id]
	var out map[string]any
	if u != nil {
		out = s.renderUser(ar, u)
	}
	s.mu.Unlock()
	if u == nil {
		s.writeError(ar, notFound(schemas["user"], id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

// minPasswordLength is Rancher's default password-min-length setting.
const minPasswordLength = 12

func (s *Server) createUser(ar *apiRequest) {
	d := schemas["user"]
	in, ok := s.createInput(ar, d)
	if !ok {
		return
	}
	if e := checkRequired(d, in); e != nil {
		s.writeError(ar, e)
		return
	}
	password := in["password"].(string)
	if len(password) < minPasswordLength {
		s.writeError(ar, fieldError(422, "MinLengthExceeded", "password",
			fmt.Sprintf("Password must be at least %d characters", minPasswordLength)))
		return
	}
	u := &user{ID: newName("user-"), Created: time.Now().UTC(), UUID: newUUID(), PasswordHash: hashPassword(password)}
	u.Username, _ = in["username"].(string)
	u.Name, _ = in["name"].(string)
	u.Description, _ = in["description"].(string)
	u.Enabled, _ = in["enabled"].(bool)
	u.MustChangePassword, _ = in["mustChangePassword"].(bool)
	s.mu.Lock()
	if s.st.userByName(u.Username) != nil {
		s.mu.Unlock()
		s.writeError(ar, fieldError(422, "NotUnique", "username", "Username is already in use"))
		return
	}
	s.st.Users[u.ID] = u
	s.saveLocked()
	out := s.renderUser(ar, u)
	s.mu.Unlock()
	s.write(ar, http.StatusCreated, out)
}

func (s *Server) updateUser(ar *apiRequest, id string) {
	d := schemas["user"]
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	in, e := convertInput(d, body, opUpdate)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	out, e := func() (map[string]any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.st.Users[id]
		if u == nil {
			return nil, notFound(d, id)
		}
		cur := map[string]any{"name": u.Name, "description": u.Description, "enabled": u.Enabled,
			"mustChangePassword": u.MustChangePassword}
		m := mergeUpdate(d, cur, in, ar.query.Get("_replace") == "true")
		applyDefaults(d, m)
		enabled, _ := m["enabled"].(bool)
		if id == ar.user.ID && !enabled {
			return nil, newError(http.StatusForbidden, "PermissionDenied", "You cannot deactivate yourself")
		}
		u.Name, _ = m["name"].(string)
		u.Description, _ = m["description"].(string)
		u.Enabled = enabled
		u.MustChangePassword, _ = m["mustChangePassword"].(bool)
		s.saveLocked()
		return s.renderUser(ar, u), nil
	}()
	if e != nil {
		s.writeError(ar, e)
		return
	}
	s.write(ar, http.StatusOK, out)
}

func (s *Server) deleteUser(ar *apiRequest, id string) {
	s.mu.Lock()
	u := s.st.Users[id]
	switch {
	case u == nil:
		s.mu.Unlock()
		s.writeError(ar, notFound(schemas["user"], id))
		return
	case id == ar.user.ID:
		s.mu.Unlock()
		s.writeError(ar, newError(http.StatusForbidden, "PermissionDenied", "You cannot delete yourself"))
		return
	}
	out := s.renderUser(ar, u)
	delete(s.st.Users, id)
	for name, t := range s.st.Tokens {
		if t.UserID == id {
			delete(s.st.Tokens, name)
		}
	}
	s.saveLocked()
	s.mu.Unlock()
	out["state"], out["transitioning"] = "removing", "yes"
	s.write(ar, http.StatusOK, out)
}

// changePassword is the changepassword action: only for the caller's own
// account, with the current password. It answers 200 with no body.
func (s *Server) changePassword(ar *apiRequest, id string) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	in, e := convertInput(schemas["changePasswordInput"], body, opCreate)
	if e == nil {
		e = checkRequired(schemas["changePasswordInput"], in)
	}
	if e != nil {
		s.writeError(ar, e)
		return
	}
	current, newPassword := in["currentPassword"].(string), in["newPassword"].(string)
	e = func() *apiError {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.st.Users[id]
		switch {
		case u == nil:
			return notFound(schemas["user"], id)
		case id != ar.user.ID:
			return newError(http.StatusForbidden, "PermissionDenied", "You can only change your own password")
		case !checkPassword(u.PasswordHash, current):
			return newError(422, "InvalidBodyContent", "Invalid current password")
		case len(newPassword) < minPasswordLength:
			return newError(422, "InvalidBodyContent", fmt.Sprintf("Password must be at least %d characters", minPasswordLength))
		case newPassword == current:
			return newError(422, "InvalidBodyContent", "The new password must not be the same as the current password")
		}
		u.PasswordHash = hashPassword(newPassword)
		u.MustChangePassword = false
		s.saveLocked()
		return nil
	}()
	if e != nil {
		s.writeError(ar, e)
		return
	}
	ar.w.WriteHeader(http.StatusOK)
}
