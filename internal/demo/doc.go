// Package demo is apitape's built-in demo target: a small in-memory imitation
// of Rancher's management API (norman /v3, plus the one steve /v1 call the
// dashboard uses to create clusters) with a web UI on top, so that capture,
// redaction, conversion and replay can be tried and tested end to end without
// a real Rancher. It serves on loopback and needs no network.
//
// The API copies Rancher's behaviour (rancher/norman, rancher/steve) wherever
// a replay diff would notice it: envelopes and key order, status codes, error
// bodies, headers, ids and tokens in Rancher's alphabet, CSRF, _replace
// semantics, write-only secrets, and what legitimately changes between two
// servers (ids, uuids, timestamps, absolute links, actions vs actionLinks).
// [Variants] change one behaviour on purpose so that replay tests can check
// that the difference is reported.
//
// # API
//
//   - POST /v3-public/localProviders/local?action=login: responseType
//     "cookie" answers 200 with an empty body and the R_SESS and CSRF
//     cookies; anything else answers 201 with a token resource holding
//     "token". GET /v3-public/authProviders lists the local provider.
//   - /v3/clusters, /v3/nodetemplates, /v3/nodepools, /v3/cloudcredentials:
//     list (pagination, sort, filters), create (POST to singular or plural,
//     201), get, update (PUT merges; PUT ?_replace=true replaces), delete
//     (or POST ?action=remove). Cluster actions generateKubeconfig and
//     exportYaml; GET /v3/clusters/{id}/nodepools.
//   - /v3/tokens: API keys (the secret is in the 201 only); POST
//     /v3/tokens?action=logout ends a cookie session.
//   - /v3/users (?me=true), POST /v3/users/{id}?action=changepassword.
//   - /v3/schemas, /v3/schemas/{id}, GET /v3 (apiRoot).
//   - /v1/provisioning.cattle.io.clusters[/{ns}[/{name}]]: GET, POST (201,
//     id "fleet-default/<name>", also creates the c-m-xxxxxxxx cluster under
//     /v3), PUT, DELETE.
//
// Authentication is Rancher's: Authorization Bearer or Basic with
// "token-xxxxx:<secret>", else the R_SESS cookie. Every 401 has the body
// {"baseType":"error","code":"Unauthorized","message":"must authenticate","status":401,"type":"error"}
// (norman's shape, not the older string-status one) and X-API-Cattle-Auth:
// false. A browser (User-Agent containing "mozilla") navigating to an API URL
// without asking for JSON gets a small HTML page around the JSON.
//
// Demo-only fields and simplifications: a cluster has a cloudCredentialId
// (the UI's "cloud credential" choice); a cluster reports "provisioning" for
// five seconds after creation and "active" after; there are no real nodes,
// projects or settings (those URLs answer 404 NotFound); every user is an
// administrator; YAML request and response bodies are not supported.
//
// # Web UI
//
// The UI at / is plain HTML, CSS and JavaScript (ui/, embedded). Each control
// has an id and an equal data-testid, listed at the top of ui/app.js, for
// steps files: login-username, login-password, login-submit, add-cluster,
// cluster-name, cluster-k8s-version, cluster-network, cluster-credential,
// cluster-save, rows cluster-row-<name> with cluster-edit-<name>,
// cluster-kubeconfig-<name>, cluster-add-nodepool-<name> and
// cluster-delete-<name>, the node pool form (nodepool-*, nodetemplate-*),
// the cloud credential form (add-credential, credential-*), API keys
// (add-apikey, apikey-*), logout, and #status, whose text says what the last
// action did ("Cluster lab created").
package demo
