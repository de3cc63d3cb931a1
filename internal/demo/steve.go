package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The /v1 (steve) API, just provisioning.cattle.io clusters: what the Vue
// dashboard posts to create an RKE2/K3s cluster.

const (
	provType     = "provisioning.cattle.io.cluster"
	provPlural   = "provisioning.cattle.io.clusters"
	provResource = "clusters.provisioning.cattle.io"
)

// steveResource is a steve resource: id, type, links, then the Kubernetes
// object, in this order (a struct, not a map, for the order).
type steveResource struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Links      map[string]string `json:"links"`
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   map[string]any    `json:"metadata"`
	Spec       map[string]any    `json:"spec"`
	Status     map[string]any    `json:"status"`
}

type steveCollection struct {
	Type         string            `json:"type"`
	Links        map[string]string `json:"links"`
	CreateTypes  map[string]string `json:"createTypes"`
	Actions      map[string]string `json:"actions"`
	ResourceType string            `json:"resourceType"`
	Revision     string            `json:"revision"`
	Count        int               `json:"count"`
	Data         []steveResource   `json:"data"`
}

// writeSteveError writes steve's error body, whose "type" key really
// appears twice.
func (s *Server) writeSteveError(ar *apiRequest, e *apiError) {
	code, _ := json.Marshal(e.code)
	msg, _ := json.Marshal(e.message)
	ar.w.Header().Set("Content-Type", "application/json")
	ar.w.WriteHeader(e.status)
	fmt.Fprintf(ar.w, `{"type":"error","links":{},"code":%s,"message":%s,"status":%d,"type":"error"}`+"\n", code, msg, e.status)
}

func (s *Server) serveSteve(ar *apiRequest) {
	if ar.user == nil {
		// The auth filter sits in front of both APIs: same 401 as /v3.
		s.write(ar, http.StatusUnauthorized, errUnauthorized("must authenticate").body())
		return
	}
	parts := splitPath(strings.TrimPrefix(ar.r.URL.Path, "/v1"))
	if len(parts) == 0 || len(parts) > 3 ||
		!(strings.EqualFold(parts[0], provPlural) || strings.EqualFold(parts[0], provType)) {
		name := ""
		if len(parts) > 0 {
			name = parts[0]
		}
		s.writeError(ar, newError(http.StatusNotFound, "NotFound", "schema "+name+" not found"))
		return
	}
	switch ar.method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		s.writeError(ar, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Method "+ar.method+" not supported"))
		return
	}
	if e := s.checkCSRF(ar); e != nil {
		s.writeError(ar, e)
		return
	}
	var ns, name string
	if len(parts) > 1 {
		ns = parts[1]
	}
	if len(parts) > 2 {
		name = parts[2]
	}
	switch {
	case name == "" && ar.method == http.MethodGet:
		s.listProv(ar, ns)
	case name == "" && ar.method == http.MethodPost:
		s.createProv(ar, ns)
	case name == "":
		s.writeError(ar, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Method "+ar.method+" not supported"))
	case ar.method == http.MethodGet:
		s.getProv(ar, ns+"/"+name)
	case ar.method == http.MethodPut:
		s.updateProv(ar, ns+"/"+name)
	case ar.method == http.MethodDelete:
		s.deleteProv(ar, ns+"/"+name)
	default:
		s.writeError(ar, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Method "+ar.method+" not supported"))
	}
}

func provNotFound(id string) *apiError {
	_, name, _ := strings.Cut(id, "/")
	return newError(http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", provResource, name))
}

func (s *Server) renderProv(ar *apiRequest, p *provCluster, now time.Time) steveResource {
	self := ar.base + "/v1/" + provPlural + "/" + p.id()
	age := now.Sub(p.Created)
	state, transitioning := "active", false
	switch {
	case age < provisionFor/2:
		state, transitioning = "reconciling", true
	case age < provisionFor:
		state, transitioning = "updating", true
	}
	created := p.Created.UTC().Format(time.RFC3339)
	return steveResource{
		ID:   p.id(),
		Type: provType,
		Links: map[string]string{
			"self": self, "update": self, "remove": self, "patch": self,
			"view": ar.base + "/apis/provisioning.cattle.io/v1/namespaces/" + p.Namespace + "/clusters/" + p.Name,
		},
		APIVersion: "provisioning.cattle.io/v1",
		Kind:       "Cluster",
		Metadata: map[string]any{
			"name": p.Name, "namespace": p.Namespace, "uid": p.UID,
			"creationTimestamp": created, "generation": p.Generation,
			"resourceVersion": strconv.FormatInt(p.ResourceVersion, 10),
			"labels":          deepCopyMap(p.Labels), "annotations": deepCopyMap(p.Annotations),
			"state":         map[string]any{"name": state, "error": false, "transitioning": transitioning, "message": ""},
			"fields":        []any{p.Name, state == "active", p.MgmtID},
			"relationships": []any{},
		},
		Spec: deepCopyMap(p.Spec),
		Status: map[string]any{
			"clusterName": p.MgmtID, "ready": state == "active", "observedGeneration": p.Generation,
		},
	}
}

func (s *Server) listProv(ar *apiRequest, ns string) {
	now := time.Now()
	s.mu.Lock()
	c := steveCollection{
		Type:         "collection",
		Links:        map[string]string{"self": ar.requestURL()},
		CreateTypes:  map[string]string{provType: ar.base + "/v1/" + provPlural},
		Actions:      map[string]string{},
		ResourceType: provType,
		Revision:     strconv.FormatInt(s.st.Revision, 10),
		Data:         []steveResource{},
	}
	for _, p := range s.st.Provisioning {
		if ns == "" || p.Namespace == ns {
			c.Data = append(c.Data, s.renderProv(ar, p, now))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(c.Data, func(a, b steveResource) int { return strings.Compare(a.ID, b.ID) })
	c.Count = len(c.Data)
	s.write(ar, http.StatusOK, c)
}

func (s *Server) getProv(ar *apiRequest, id string) {
	s.mu.Lock()
	p := s.st.Provisioning[id]
	var out steveResource
	if p != nil {
		out = s.renderProv(ar, p, time.Now())
	}
	s.mu.Unlock()
	if p == nil {
		s.writeError(ar, provNotFound(id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

// provInput reads the parts of a Kubernetes object a client may set.
func provInput(body map[string]any) (md map[string]any, labels, annotations, spec map[string]any) {
	md, _ = body["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	strMap := func(v any) map[string]any {
		out := map[string]any{}
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				if s, ok := scalarString(e); ok {
					out[k] = s
				}
			}
		}
		return out
	}
	spec, _ = body["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	return md, strMap(md["labels"]), strMap(md["annotations"]), deepCopyMap(spec)
}

// createProv creates a provisioning cluster and, as Rancher does, the
// management cluster behind it (c-m-xxxxxxxx, also visible under /v3).
func (s *Server) createProv(ar *apiRequest, ns string) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	md, labels, annotations, spec := provInput(body)
	if ns == "" {
		ns, _ = md["namespace"].(string)
	}
	if ns == "" {
		ns = "fleet-default"
	}
	name, _ := md["name"].(string)
	if name == "" {
		if gen, _ := md["generateName"].(string); gen != "" {
			name = gen + randomString(5)
		}
	}
	if name == "" {
		s.writeError(ar, newError(422, "Invalid",
			`Cluster.provisioning.cattle.io "" is invalid: metadata.name: Required value: name or generateName is required`))
		return
	}
	now := time.Now().UTC()
	s.mu.Lock()
	out, e := s.createProvLocked(ar, ns, name, labels, annotations, spec, now)
	s.mu.Unlock()
	if e != nil {
		s.writeError(ar, e)
		return
	}
	s.write(ar, http.StatusCreated, out)
}

// createProvLocked stores the cluster and its management twin; the caller
// holds s.mu and writes the response after unlocking.
func (s *Server) createProvLocked(ar *apiRequest, ns, name string, labels, annotations, spec map[string]any, now time.Time) (steveResource, *apiError) {
	id := ns + "/" + name
	if s.st.Provisioning[id] != nil {
		return steveResource{}, newError(http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", provResource, name))
	}
	s.st.Revision++
	p := &provCluster{Namespace: ns, Name: name, UID: newUUID(), Created: now, Generation: 1,
		ResourceVersion: s.st.Revision, Labels: labels, Annotations: annotations, Spec: spec}
	for {
		p.MgmtID = "c-m-" + randomString(8)
		if s.st.Objects["cluster"][p.MgmtID] == nil {
			break
		}
	}
	version, _ := spec["kubernetesVersion"].(string)
	driver := "imported"
	switch {
	case strings.Contains(version, "k3s"):
		driver = "k3s"
	case version != "":
		driver = "rke2"
	}
	fields := map[string]any{"name": name, "annotations": map[string]any{
		"field.cattle.io/creatorId":               ar.user.ID,
		"objectset.rio.cattle.io/owner-name":      name,
		"objectset.rio.cattle.io/owner-namespace": ns,
	}}
	applyDefaults(schemas["cluster"], fields)
	s.st.Objects["cluster"][p.MgmtID] = &object{ID: p.MgmtID, Created: now, UUID: newUUID(), CreatorID: ar.user.ID,
		Driver: driver, Owner: id, Fields: fields}
	s.st.Provisioning[id] = p
	s.saveLocked()
	return s.renderProv(ar, p, now), nil
}

// updateProv is a Kubernetes PUT: spec, labels and annotations are
// replaced; a changed spec bumps the generation.
func (s *Server) updateProv(ar *apiRequest, id string) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	_, labels, annotations, spec := provInput(body)
	s.mu.Lock()
	p := s.st.Provisioning[id]
	var out steveResource
	if p != nil {
		if !reflect.DeepEqual(p.Spec, spec) {
			p.Generation++
		}
		s.st.Revision++
		p.ResourceVersion = s.st.Revision
		p.Labels, p.Annotations, p.Spec = labels, annotations, spec
		s.saveLocked()
		out = s.renderProv(ar, p, time.Now())
	}
	s.mu.Unlock()
	if p == nil {
		s.writeError(ar, provNotFound(id))
		return
	}
	s.write(ar, http.StatusOK, out)
}

func (s *Server) deleteProv(ar *apiRequest, id string) {
	s.mu.Lock()
	p := s.st.Provisioning[id]
	if p == nil {
		s.mu.Unlock()
		s.writeError(ar, provNotFound(id))
		return
	}
	out := s.renderProv(ar, p, time.Now())
	delete(s.st.Provisioning, id)
	if o := s.st.Objects["cluster"][p.MgmtID]; o != nil {
		s.deleteObjectLocked(schemas["cluster"], o)
	}
	s.st.Revision++
	s.saveLocked()
	s.mu.Unlock()
	out.Metadata["state"] = map[string]any{"name": "removing", "error": false, "transitioning": true, "message": ""}
	out.Metadata["deletionTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	s.write(ar, http.StatusOK, out)
}
