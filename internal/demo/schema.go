package demo

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// fieldDef is one field of a schema, with norman's flags. Type is a norman
// type name: string, password, enum, boolean, int, date, map[string],
// array[string], reference[<schema>], or the id of an embedded schema.
type fieldDef struct {
	Type      string
	Create    bool
	Update    bool
	Required  bool
	Nullable  bool
	WriteOnly bool
	Default   any
	Options   []string
}

type actionDef struct{ Input, Output string }

// linkDef is a named sub-collection: GET <self>/<link> lists Type filtered
// by Field == the parent's id.
type linkDef struct{ Type, Field string }

// schemaDef describes one type. Embedded types (nested objects) have no
// methods; Open ones keep keys they do not know, because the real nested
// RKE types have far more fields than the demo declares and a recorded body
// must survive a round trip.
type schemaDef struct {
	ID                string
	Plural            string
	Group             string
	K8sResource       string // for NotFound messages: clusters.management.cattle.io
	IDPrefix          string // "c-", "nt-", …
	Namespace         string // fixed id namespace: "cattle-global-nt"
	CollectionMethods []string
	ResourceMethods   []string
	Fields            map[string]fieldDef
	Filters           []string
	ResourceActions   map[string]actionDef
	CollectionActions map[string]actionDef
	Links             map[string]linkDef
	Embedded          bool
	Open              bool
}

var filterModifiers = []string{"eq", "ne", "null", "notnull", "in", "notin"}

// k8sVersions are the RKE1 versions the demo offers; the first is the default.
var k8sVersions = []string{"v1.31.4-rancher1-1", "v1.30.8-rancher1-1", "v1.29.12-rancher1-1"}

var networkPlugins = []string{"canal", "calico", "flannel", "weave", "none"}

func rw() fieldDef { return fieldDef{Create: true, Update: true} }

func f(typ string, flags ...string) fieldDef {
	d := fieldDef{Type: typ}
	for _, fl := range flags {
		switch fl {
		case "c":
			d.Create = true
		case "u":
			d.Update = true
		case "cu":
			d.Create, d.Update = true, true
		case "required":
			d.Required = true
		case "nullable":
			d.Nullable = true
		case "writeOnly":
			d.WriteOnly = true
		default:
			panic("demo: unknown field flag " + fl)
		}
	}
	return d
}

func withDefault(d fieldDef, v any) fieldDef { d.Default = v; return d }

// readOnly are the metadata fields every top-level type shows.
func readOnly(extra map[string]fieldDef) map[string]fieldDef {
	m := map[string]fieldDef{
		"created":   f("date"),
		"creatorId": f("reference[user]"),
		"uuid":      f("string"),
	}
	maps.Copy(m, extra)
	return m
}

func meta(fields map[string]fieldDef) map[string]fieldDef {
	fields["labels"] = withDefault(f("map[string]", "cu"), map[string]any{})
	fields["annotations"] = withDefault(f("map[string]", "cu"), map[string]any{})
	return fields
}

func stateFields() map[string]fieldDef {
	return map[string]fieldDef{
		"state":                f("string"),
		"transitioning":        {Type: "enum", Options: []string{"yes", "no", "error"}},
		"transitioningMessage": f("string"),
	}
}

func merged(ms ...map[string]fieldDef) map[string]fieldDef {
	out := map[string]fieldDef{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

var (
	crud     = []string{"GET", "PUT", "DELETE"}
	listPost = []string{"GET", "POST"}
)

// schemas holds every schema by id; schemaIndex maps lower-case ids and
// plural names to them, because norman matches the type segment of a URL
// case-insensitively against both.
var schemas, schemaIndex = buildSchemas()

func buildSchemas() (map[string]*schemaDef, map[string]*schemaDef) {
	list := []*schemaDef{
		{
			ID: "cluster", Plural: "clusters", Group: "management.cattle.io",
			K8sResource: "clusters.management.cattle.io", IDPrefix: "c-",
			CollectionMethods: listPost, ResourceMethods: crud,
			Fields: merged(meta(map[string]fieldDef{
				"name":                          f("string", "cu", "required"),
				"description":                   withDefault(f("string", "cu"), ""),
				"dockerRootDir":                 withDefault(f("string", "cu"), "/var/lib/docker"),
				"enableNetworkPolicy":           withDefault(f("boolean", "cu", "nullable"), false),
				"windowsPreferedCluster":        withDefault(f("boolean", "c"), false),
				"rancherKubernetesEngineConfig": f("rancherKubernetesEngineConfig", "cu", "nullable"),
				// Not a Rancher field: the demo UI's "cloud credential"
				// choice needs somewhere to live on an RKE1 cluster.
				"cloudCredentialId": f("reference[cloudCredential]", "cu", "nullable"),
			}), readOnly(stateFields()), map[string]fieldDef{
				"driver":     f("string"),
				"nodeCount":  f("int"),
				"conditions": f("array[clusterCondition]"),
				"removed":    f("date"),
			}),
			Filters: []string{"creatorId", "driver", "id", "name", "state", "uuid"},
			ResourceActions: map[string]actionDef{
				"generateKubeconfig": {Output: "generateKubeConfigOutput"},
				"exportYaml":         {Output: "exportOutput"},
			},
			Links: map[string]linkDef{"nodePools": {Type: "nodePool", Field: "clusterId"}},
		},
		{
			ID: "nodeTemplate", Plural: "nodeTemplates", Group: "management.cattle.io",
			K8sResource: "nodetemplates.management.cattle.io", IDPrefix: "nt-", Namespace: "cattle-global-nt",
			CollectionMethods: listPost, ResourceMethods: crud,
			Fields: merged(meta(map[string]fieldDef{
				"name":                 f("string", "cu"),
				"description":          withDefault(f("string", "cu"), ""),
				"cloudCredentialId":    f("reference[cloudCredential]", "cu", "nullable"),
				"driver":               f("string", "c"),
				"amazonec2Config":      f("amazonec2Config", "cu", "nullable"),
				"digitaloceanConfig":   f("digitaloceanConfig", "cu", "nullable"),
				"engineInstallURL":     withDefault(f("string", "cu"), "https://releases.rancher.com/install-docker/24.0.sh"),
				"useInternalIpAddress": withDefault(f("boolean", "cu"), true),
			}), readOnly(stateFields()), map[string]fieldDef{"namespaceId": f("string")}),
			Filters: []string{"cloudCredentialId", "creatorId", "driver", "id", "name", "state", "uuid"},
		},
		{
			ID: "nodePool", Plural: "nodePools", Group: "management.cattle.io",
			K8sResource: "nodepools.management.cattle.io", IDPrefix: "np-",
			CollectionMethods: listPost, ResourceMethods: crud,
			Fields: merged(meta(map[string]fieldDef{
				"clusterId":               f("reference[cluster]", "c", "required"),
				"nodeTemplateId":          f("reference[nodeTemplate]", "cu", "required"),
				"hostnamePrefix":          f("string", "cu", "required"),
				"displayName":             f("string", "cu"),
				"quantity":                withDefault(f("int", "cu"), 1),
				"controlPlane":            withDefault(f("boolean", "cu"), false),
				"etcd":                    withDefault(f("boolean", "cu"), false),
				"worker":                  withDefault(f("boolean", "cu"), false),
				"drainBeforeDelete":       withDefault(f("boolean", "cu"), false),
				"deleteNotReadyAfterSecs": withDefault(f("int", "cu"), 0),
			}), readOnly(stateFields()), map[string]fieldDef{"name": f("string"), "namespaceId": f("string")}),
			Filters: []string{"clusterId", "creatorId", "hostnamePrefix", "id", "name", "nodeTemplateId", "state", "uuid"},
		},
		{
			ID: "cloudCredential", Plural: "cloudCredentials", Group: "management.cattle.io",
			// Rancher keeps cloud credentials in Secrets, so its NotFound
			// names the core resource.
			K8sResource: "secrets", IDPrefix: "cc-", Namespace: "cattle-global-data",
			CollectionMethods: listPost, ResourceMethods: crud,
			Fields: merged(meta(map[string]fieldDef{
				"name":                         f("string", "cu"),
				"description":                  withDefault(f("string", "cu"), ""),
				"amazonec2credentialConfig":    f("amazonec2credentialConfig", "cu", "nullable"),
				"digitaloceancredentialConfig": f("digitaloceancredentialConfig", "cu", "nullable"),
				"azurecredentialConfig":        f("azurecredentialConfig", "cu", "nullable"),
			}), readOnly(nil), map[string]fieldDef{"namespaceId": f("string")}),
			Filters: []string{"creatorId", "id", "name", "uuid"},
		},
		{
			ID: "token", Plural: "tokens", Group: "management.cattle.io",
			K8sResource: "tokens.management.cattle.io", IDPrefix: "token-",
			CollectionMethods: listPost, ResourceMethods: []string{"GET", "DELETE"},
			Fields: merged(map[string]fieldDef{
				"description":   withDefault(f("string", "c"), ""),
				"ttl":           withDefault(f("int", "c"), 0),
				"clusterId":     f("reference[cluster]", "c", "nullable"),
				"token":         f("password"),
				"name":          f("string"),
				"userId":        f("reference[user]"),
				"authProvider":  f("string"),
				"current":       f("boolean"),
				"enabled":       f("boolean"),
				"expired":       f("boolean"),
				"expiresAt":     f("string"),
				"isDerived":     f("boolean"),
				"userPrincipal": f("string"),
				"labels":        f("map[string]"),
				"annotations":   f("map[string]"),
			}, readOnly(nil)),
			Filters:           []string{"authProvider", "description", "id", "isDerived", "name", "userId"},
			CollectionActions: map[string]actionDef{"logout": {}},
		},
		{
			ID: "user", Plural: "users", Group: "management.cattle.io",
			K8sResource: "users.management.cattle.io", IDPrefix: "user-",
			CollectionMethods: listPost, ResourceMethods: crud,
			Fields: merged(map[string]fieldDef{
				"username":           f("string", "c", "required"),
				"password":           f("password", "c", "required", "writeOnly"),
				"name":               f("string", "cu"),
				"description":        withDefault(f("string", "cu"), ""),
				"enabled":            withDefault(f("boolean", "cu"), true),
				"mustChangePassword": withDefault(f("boolean", "cu"), false),
				"principalIds":       f("array[string]"),
				"me":                 f("boolean"),
				"labels":             f("map[string]"),
				"annotations":        f("map[string]"),
			}, readOnly(stateFields())),
			Filters:           []string{"id", "name", "username", "uuid"},
			ResourceActions:   map[string]actionDef{"changepassword": {Input: "changePasswordInput"}},
			CollectionActions: map[string]actionDef{"changepassword": {Input: "changePasswordInput"}},
		},
		{
			ID: "schema", Plural: "schemas", CollectionMethods: []string{"GET"}, ResourceMethods: []string{"GET"},
			K8sResource: "schemas",
			Fields: map[string]fieldDef{
				"pluralName": f("string"), "resourceMethods": f("array[string]"), "collectionMethods": f("array[string]"),
				"resourceFields": f("map[json]"), "resourceActions": f("map[json]"), "collectionActions": f("map[json]"),
				"collectionFilters": f("map[json]"), "version": f("json"),
			},
		},

		// Embedded types.
		{ID: "rancherKubernetesEngineConfig", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"kubernetesVersion":   withDefault(rwf("string"), k8sVersions[0]),
			"network":             withDefault(rwf("networkConfig"), map[string]any{}),
			"services":            withDefault(rwf("rkeConfigServices"), map[string]any{}),
			"ignoreDockerVersion": withDefault(rwf("boolean"), true),
			"sshAgentAuth":        withDefault(rwf("boolean"), false),
			"addonJobTimeout":     withDefault(rwf("int"), 45),
		}},
		{ID: "networkConfig", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"plugin":  {Type: "enum", Create: true, Update: true, Default: "canal", Options: networkPlugins},
			"options": rwf("map[string]"),
			"mtu":     withDefault(rwf("int"), 0),
		}},
		{ID: "rkeConfigServices", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"etcd":    withDefault(rwf("etcdService"), map[string]any{}),
			"kubeApi": withDefault(rwf("kubeAPIService"), map[string]any{}),
			"kubelet": withDefault(rwf("kubeletService"), map[string]any{}),
		}},
		{ID: "etcdService", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"retention": withDefault(rwf("string"), "72h"),
			"creation":  withDefault(rwf("string"), "12h"),
			"snapshot":  withDefault(f("boolean", "cu", "nullable"), false),
			"extraArgs": rwf("map[string]"),
		}},
		{ID: "kubeAPIService", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"serviceNodePortRange": withDefault(rwf("string"), "30000-32767"),
			"extraArgs":            rwf("map[string]"),
		}},
		{ID: "kubeletService", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"failSwapOn": withDefault(rwf("boolean"), false),
			"extraArgs":  rwf("map[string]"),
		}},
		{ID: "amazonec2Config", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"region":       withDefault(rwf("string"), "us-east-1"),
			"zone":         withDefault(rwf("string"), "a"),
			"instanceType": withDefault(rwf("string"), "t3a.medium"),
			"ami":          rwf("string"),
			"rootSize":     withDefault(rwf("string"), "16"),
			"sshUser":      withDefault(rwf("string"), "ubuntu"),
			"vpcId":        rwf("string"),
			"subnetId":     rwf("string"),
		}},
		{ID: "digitaloceanConfig", Embedded: true, Open: true, Fields: map[string]fieldDef{
			"image":  withDefault(rwf("string"), "ubuntu-22-04-x64"),
			"region": withDefault(rwf("string"), "nyc3"),
			"size":   withDefault(rwf("string"), "s-2vcpu-4gb"),
		}},
		{ID: "amazonec2credentialConfig", Embedded: true, Fields: map[string]fieldDef{
			"accessKey":     rwf("string"),
			"secretKey":     f("password", "cu", "writeOnly"),
			"defaultRegion": rwf("string"),
		}},
		{ID: "digitaloceancredentialConfig", Embedded: true, Fields: map[string]fieldDef{
			"accessToken": f("password", "cu", "writeOnly"),
		}},
		{ID: "azurecredentialConfig", Embedded: true, Fields: map[string]fieldDef{
			"clientId":       rwf("string"),
			"clientSecret":   f("password", "cu", "writeOnly"),
			"subscriptionId": rwf("string"),
			"environment":    withDefault(rwf("string"), "AzurePublicCloud"),
		}},
		{ID: "changePasswordInput", Embedded: true, Fields: map[string]fieldDef{
			"currentPassword": f("string", "c", "required"),
			"newPassword":     f("string", "c", "required"),
		}},
		{ID: "generateKubeConfigOutput", Embedded: true, Fields: map[string]fieldDef{"config": f("string")}},
		{ID: "exportOutput", Embedded: true, Fields: map[string]fieldDef{"yamlOutput": f("string")}},
		{ID: "clusterCondition", Embedded: true, Fields: map[string]fieldDef{
			"type": f("string"), "status": f("string"), "lastUpdateTime": f("string"), "reason": f("string"), "message": f("string"),
		}},
	}
	byID := map[string]*schemaDef{}
	index := map[string]*schemaDef{}
	for _, s := range list {
		byID[s.ID] = s
		if s.Embedded {
			continue
		}
		index[strings.ToLower(s.ID)] = s
		index[strings.ToLower(s.Plural)] = s
	}
	return byID, index
}

func rwf(typ string) fieldDef { d := rw(); d.Type = typ; return d }

// collectionPath is the lower-case plural norman uses in every link.
func (d *schemaDef) collectionPath() string { return "/v3/" + strings.ToLower(d.Plural) }

func (d *schemaDef) allows(method string, resource bool) bool {
	if resource {
		return slices.Contains(d.ResourceMethods, method)
	}
	return slices.Contains(d.CollectionMethods, method)
}

// embedded returns the schema of a nested-object field, or nil.
func embedded(f fieldDef) *schemaDef {
	if s, ok := schemas[f.Type]; ok && s.Embedded {
		return s
	}
	return nil
}

func referenceTarget(typ string) string {
	if rest, ok := strings.CutPrefix(typ, "reference["); ok {
		return strings.TrimSuffix(rest, "]")
	}
	return ""
}

type op int

const (
	opCreate op = iota
	opUpdate
)

func (f fieldDef) writable(o op) bool {
	if o == opCreate {
		return f.Create
	}
	return f.Update
}

// convertInput keeps the fields of in that op may write, converted to their
// types. Like norman it drops unknown and read-only fields silently (id,
// type, links, actions, …) and fails only on values of the wrong shape.
func convertInput(d *schemaDef, in map[string]any, o op) (map[string]any, *apiError) {
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		fd, known := d.Fields[name]
		if !known {
			if d.Open && name != "type" {
				out[name] = deepCopy(v)
			}
			continue
		}
		if !fd.writable(o) {
			continue
		}
		cv, err := convertValue(name, fd, v, o)
		if err != nil {
			return nil, err
		}
		out[name] = cv
	}
	return out, nil
}

func convertValue(name string, fd fieldDef, v any, o op) (any, *apiError) {
	if v == nil {
		return nil, nil
	}
	invalid := func() *apiError {
		return fieldError(422, "InvalidFormat", name, fmt.Sprintf("Invalid type for field '%s': expected %s", name, fd.Type))
	}
	if sub := embedded(fd); sub != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid()
		}
		return convertInput(sub, m, o)
	}
	switch fd.Type {
	case "string", "password", "date", "enum":
		s, ok := scalarString(v)
		if !ok {
			return nil, invalid()
		}
		if fd.Type == "enum" && s != "" && !slices.Contains(fd.Options, s) {
			return nil, fieldError(422, "InvalidOption", name, fmt.Sprintf("Invalid option: %s", s))
		}
		return s, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, invalid()
	case "int":
		switch x := v.(type) {
		case float64:
			if x == float64(int64(x)) {
				return x, nil
			}
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return float64(n), nil
			}
		}
		return nil, invalid()
	case "map[string]":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid()
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			s, ok := scalarString(e)
			if !ok {
				return nil, invalid()
			}
			out[k] = s
		}
		return out, nil
	case "array[string]":
		l, ok := v.([]any)
		if !ok {
			return nil, invalid()
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			s, ok := scalarString(e)
			if !ok {
				return nil, invalid()
			}
			out = append(out, s)
		}
		return out, nil
	}
	if referenceTarget(fd.Type) != "" {
		s, ok := scalarString(v)
		if !ok {
			return nil, invalid()
		}
		if s == "" {
			return nil, nil
		}
		return s, nil
	}
	return deepCopy(v), nil
}

// scalarString converts what norman's convert.ToString accepts.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// applyDefaults fills the writable fields that are absent with their
// defaults, descending into nested objects that are present.
func applyDefaults(d *schemaDef, m map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(d.Fields)) {
		fd := d.Fields[name]
		if !fd.Create && !fd.Update {
			continue
		}
		if _, ok := m[name]; !ok && fd.Default != nil {
			m[name] = deepCopy(fd.Default)
		}
		if sub := embedded(fd); sub != nil {
			if nm, ok := m[name].(map[string]any); ok {
				applyDefaults(sub, nm)
			}
		}
	}
}

// checkRequired reports the first (alphabetically) required field that is
// missing or empty, plus any extra names the variant demands.
func checkRequired(d *schemaDef, m map[string]any, extra ...string) *apiError {
	var names []string
	for name, fd := range d.Fields {
		if fd.Required {
			names = append(names, name)
		}
	}
	names = append(names, extra...)
	slices.Sort(names)
	for _, name := range names {
		if v, ok := m[name]; !ok || v == nil || v == "" {
			return fieldError(422, "MissingRequired", name, "")
		}
	}
	return nil
}

// isProtected reports label and annotation keys that updates never remove
// (field.cattle.io/creatorId and the like).
func isProtected(key string) bool { return strings.Contains(key, "cattle.io/") }

// mergeUpdate applies an update body to a stored object the way norman's
// proxy store does: without replace, a deep merge where nested schema
// objects merge key by key and everything else (plain maps, lists, scalars)
// is replaced; with replace, every updatable field is first dropped from the
// stored copy, so fields the body omits are cleared (and later reset to
// their defaults) while create-only and read-only fields survive. In both
// modes labels and annotations keep their protected keys.
func mergeUpdate(d *schemaDef, stored, in map[string]any, replace bool) map[string]any {
	out := deepCopyMap(stored)
	if replace {
		dropUpdatable(d, out)
	}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		fd, known := d.Fields[k]
		switch {
		case k == "labels" || k == "annotations":
			out[k] = keepProtected(stored[k], v)
		case known && embedded(fd) != nil:
			nv, nok := v.(map[string]any)
			ov, ook := out[k].(map[string]any)
			if nok && ook {
				out[k] = mergeUpdate(embedded(fd), ov, nv, false)
			} else {
				out[k] = deepCopy(v)
			}
		default:
			out[k] = deepCopy(v)
		}
	}
	return out
}

func dropUpdatable(d *schemaDef, m map[string]any) {
	if d.Open {
		// Keys the schema does not declare came from clients, so they
		// are as updatable as the declared ones.
		for k := range m {
			if _, known := d.Fields[k]; !known {
				delete(m, k)
			}
		}
	}
	for name, fd := range d.Fields {
		if !fd.Update {
			continue
		}
		if name == "labels" || name == "annotations" {
			if _, ok := m[name]; ok {
				m[name] = keepProtected(m[name], map[string]any{})
			}
			continue
		}
		if sub := embedded(fd); sub != nil {
			if nm, ok := m[name].(map[string]any); ok {
				dropUpdatable(sub, nm)
				if len(nm) > 0 {
					continue
				}
			}
		}
		delete(m, name)
	}
}

// keepProtected returns in plus the protected keys of stored.
func keepProtected(stored, in any) any {
	inMap, ok := in.(map[string]any)
	if !ok {
		inMap = map[string]any{}
	}
	out := deepCopyMap(inMap)
	if sm, ok := stored.(map[string]any); ok {
		for k, v := range sm {
			if _, set := out[k]; !set && isProtected(k) {
				out[k] = v
			}
		}
	}
	return out
}

// prepareOutput removes write-only values and writes the long type name
// into nested objects, as norman's output builder does.
func prepareOutput(d *schemaDef, m map[string]any) {
	for name, fd := range d.Fields {
		if fd.WriteOnly {
			delete(m, name)
			continue
		}
		if sub := embedded(fd); sub != nil {
			if nm, ok := m[name].(map[string]any); ok {
				prepareOutput(sub, nm)
				nm["type"] = "/v3/schemas/" + sub.ID
			}
		}
		if referenceTarget(fd.Type) != "" && (fd.Create || fd.Update) {
			if _, ok := m[name]; !ok {
				m[name] = nil
			}
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

// schemaResource renders a schema for /v3/schemas.
func (d *schemaDef) resource(base string) map[string]any {
	fields := map[string]any{}
	for name, fd := range d.Fields {
		m := map[string]any{"type": fd.Type}
		for k, b := range map[string]bool{"create": fd.Create, "update": fd.Update, "required": fd.Required,
			"nullable": fd.Nullable, "writeOnly": fd.WriteOnly} {
			if b {
				m[k] = true
			}
		}
		if fd.Default != nil {
			m["default"] = fd.Default
		}
		if len(fd.Options) > 0 {
			m["options"] = fd.Options
		}
		fields[name] = m
	}
	self := base + "/v3/schemas/" + d.ID
	out := map[string]any{
		"id": d.ID, "type": "schema", "baseType": "schema",
		"links":          map[string]any{"self": self},
		"actions":        map[string]any{},
		"resourceFields": fields,
		"version":        map[string]any{"group": "management.cattle.io", "path": "/v3", "version": "v3"},
	}
	if d.Plural != "" {
		out["pluralName"] = d.Plural
	}
	if len(d.CollectionMethods) > 0 {
		out["collectionMethods"] = d.CollectionMethods
		out["links"].(map[string]any)["collection"] = base + d.collectionPath()
	}
	if len(d.ResourceMethods) > 0 {
		out["resourceMethods"] = d.ResourceMethods
	}
	actions := func(m map[string]actionDef) map[string]any {
		out := map[string]any{}
		for name, a := range m {
			e := map[string]any{}
			if a.Input != "" {
				e["input"] = a.Input
			}
			if a.Output != "" {
				e["output"] = a.Output
			}
			out[name] = e
		}
		return out
	}
	if len(d.ResourceActions) > 0 {
		out["resourceActions"] = actions(d.ResourceActions)
	}
	if len(d.CollectionActions) > 0 {
		out["collectionActions"] = actions(d.CollectionActions)
	}
	if len(d.Filters) > 0 {
		filters := map[string]any{}
		for _, name := range d.Filters {
			filters[name] = map[string]any{"modifiers": filterModifiers}
		}
		out["collectionFilters"] = filters
	}
	return out
}
