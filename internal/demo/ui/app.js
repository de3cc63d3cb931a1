// apitape demo UI: a small Rancher-like console over the demo's /v3 API.
//
// Every action is a fetch() call with the headers of Rancher's Ember UI
// (Accept, X-Api-Csrf from the CSRF cookie, X-Api-Action-Links, X-Api-No-
// Challenge, credentials: same-origin), so a browser recorder sees real API
// traffic. After each action #status shows what happened; steps files wait
// for its text. #status also has data-seq (incremented on every message) and
// data-state ("ok", "error" or "busy").
//
// Stable element ids (each also has data-testid with the same value):
//   status
//   login-form login-username login-password login-submit login-error
//   current-user logout
//   nav-clusters nav-nodetemplates nav-credentials nav-apikeys
//   page-clusters page-nodetemplates page-credentials page-apikeys
//   refresh add-cluster cluster-table
//   cluster-modal cluster-name cluster-k8s-version cluster-network
//     cluster-credential cluster-save cluster-cancel cluster-error
//   nodepool-modal nodepool-template nodetemplate-name nodetemplate-credential
//     nodetemplate-region nodetemplate-instance-type nodepool-prefix
//     nodepool-quantity nodepool-etcd nodepool-controlplane nodepool-worker
//     nodepool-save nodepool-cancel nodepool-error
//   kubeconfig-modal kubeconfig-text kubeconfig-copy kubeconfig-download kubeconfig-close
//   add-credential credential-modal credential-name credential-access-key
//     credential-secret-key credential-region credential-save credential-cancel
//     credential-error
//   add-apikey apikey-modal apikey-description apikey-ttl apikey-save
//     apikey-cancel apikey-error apikey-created apikey-token apikey-copy apikey-done
//   confirm-modal confirm-text confirm-ok confirm-cancel
// Per-row elements (data-testid and id, <name> is the resource's name):
//   cluster-row-<name> cluster-state-<name> cluster-edit-<name>
//   cluster-kubeconfig-<name> cluster-add-nodepool-<name> cluster-delete-<name>
//   nodepool-<cluster>-<hostnamePrefix>            (a chip in the cluster row)
//   nodetemplate-row-<name> nodetemplate-delete-<name>
//   credential-row-<name> credential-delete-<name>
//   apikey-row-<token-xxxxx> apikey-delete-<token-xxxxx>
// The "new template" choice of nodepool-template has the value "__new".
'use strict';

const NEW_TEMPLATE = '__new';

const state = {
  me: null,
  clusters: [],
  nodePools: [],
  nodeTemplates: [],
  credentials: [],
  tokens: [],
  editing: null,   // cluster being edited, or null when adding
  poolFor: null,   // cluster a node pool is being added to
  confirm: null,   // function run by confirm-ok
  kubeconfigURL: null,
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- API

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

class APIError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

function describeError(status, body) {
  if (!body || typeof body !== 'object') return `HTTP ${status}`;
  switch (body.code) {
    case 'NotUnique':
      return `${body.fieldName || 'Name'} is already in use`;
    case 'MissingRequired':
      return `${body.fieldName} is required`;
    case 'InvalidReference':
      return `${body.fieldName} refers to something that does not exist`;
    case 'InvalidCSRFToken':
      return 'Your session token is stale: reload the page';
  }
  return [body.code, body.message].filter(Boolean).join(': ') || `HTTP ${status}`;
}

async function api(method, path, body) {
  const headers = {
    'Accept': 'application/json',
    'X-Api-Action-Links': 'actionLinks',
    'X-Api-No-Challenge': 'true',
  };
  const csrf = cookie('CSRF');
  if (csrf) headers['X-Api-Csrf'] = csrf;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

// ---------------------------------------------------------------- helpers

let statusSeq = 0;

function setStatus(text, kind = 'ok') {
  const s = $('status');
  s.textContent = text;
  s.dataset.state = kind;
  s.dataset.seq = String(++statusSeq);
  s.hidden = false;
}

// el builds an element; strings become text nodes, so names from the API
// are never parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// tid gives an element the same id and data-testid.
function tid(name) {
  return { id: name, 'data-testid': name };
}

function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function showError(id, err) {
  const e = $(id);
  e.textContent = err.message;
  e.hidden = false;
  setStatus(`Error: ${err.message}`, 'error');
}

function hideError(id) {
  $(id).hidden = true;
}

function openModal(id) {
  const m = $(id);
  m.hidden = false;
  for (const ta of m.querySelectorAll('textarea')) ta.scrollTop = 0;
  const first = m.querySelector('input:not([readonly]):not([type=checkbox]), select, textarea:not([readonly])') ||
    m.querySelector('footer .btn.primary');
  if (first) first.focus();
}

function closeModal(id) {
  $(id).hidden = true;
}

function fillSelect(sel, options, value) {
  sel.replaceChildren(...options.map(([v, label]) => el('option', { value: v }, label)));
  if (value !== undefined) sel.value = value;
}

function credentialName(id) {
  const c = state.credentials.find((c) => c.id === id);
  return c ? c.name || c.id : '';
}

// ---------------------------------------------------------------- session

async function init() {
  bindEvents();
  try {
    // Like Rancher's UI, start with a public call: it also hands the
    // browser its CSRF cookie before anything is posted.
    await api('GET', '/v3-public/authProviders');
    const me = await api('GET', '/v3/users?me=true');
    state.me = me.data[0];
    await enterApp();
  } catch (err) {
    if (err.status === 401) showLogin();
    else setStatus(`Error: ${err.message}`, 'error');
  }
}

function showLogin() {
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('login-password').value = '';
  $('login-password').focus();
}

async function login(ev) {
  ev.preventDefault();
  hideError('login-error');
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  $('login-submit').disabled = true;
  try {
    await api('POST', '/v3-public/localProviders/local?action=login', {
      description: 'UI session', responseType: 'cookie', username, password, ttl: 57600000,
    });
    const me = await api('GET', '/v3/users?me=true');
    state.me = me.data[0];
    await enterApp();
    setStatus(`Logged in as ${state.me.username}`);
  } catch (err) {
    const e = $('login-error');
    e.textContent = err.status === 401 ? 'Invalid username or password' : err.message;
    e.hidden = false;
    setStatus(`Error: ${e.textContent}`, 'error');
  } finally {
    $('login-submit').disabled = false;
  }
}

async function enterApp() {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('current-user').textContent = state.me.name ? `${state.me.name} (${state.me.username})` : state.me.username;
  $('current-user-initial').textContent = (state.me.username || '?').slice(0, 1);
  if (!location.hash) history.replaceState(null, '', '#clusters');
  await route();
}

async function logout() {
  try {
    await api('POST', '/v3/tokens?action=logout', {});
  } catch (err) {
    if (err.status !== 401) {
      setStatus(`Error: ${err.message}`, 'error');
      return;
    }
  }
  state.me = null;
  showLogin();
  setStatus('Logged out');
}

// ---------------------------------------------------------------- routing

const pages = ['clusters', 'nodetemplates', 'credentials', 'apikeys'];

async function route() {
  let page = location.hash.slice(1);
  if (!pages.includes(page)) page = 'clusters';
  for (const p of pages) {
    $(`page-${p}`).hidden = p !== page;
    $(`nav-${p}`).classList.toggle('active', p === page);
  }
  try {
    switch (page) {
      case 'clusters':
        await loadAll();
        break;
      case 'nodetemplates':
        await Promise.all([loadTemplates(), loadCredentials()]);
        renderTemplates();
        break;
      case 'credentials':
        await loadCredentials();
        renderCredentials();
        break;
      case 'apikeys':
        await loadTokens();
        renderTokens();
        break;
    }
  } catch (err) {
    if (err.status === 401) showLogin();
    setStatus(`Error: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------- data

async function loadClusters() {
  state.clusters = (await api('GET', '/v3/clusters?limit=-1&sort=name')).data;
}
async function loadPools() {
  state.nodePools = (await api('GET', '/v3/nodepools?limit=-1')).data;
}
async function loadTemplates() {
  state.nodeTemplates = (await api('GET', '/v3/nodetemplates?limit=-1&sort=name')).data;
}
async function loadCredentials() {
  state.credentials = (await api('GET', '/v3/cloudcredentials?limit=-1&sort=name')).data;
}
async function loadTokens() {
  state.tokens = (await api('GET', '/v3/tokens?limit=-1')).data;
}

async function loadAll() {
  await loadClusters();
  await loadPools();
  await loadCredentials();
  await loadTemplates();
  renderClusters();
}

// ---------------------------------------------------------------- clusters

function providerName(driver) {
  switch (driver) {
    case 'rancherKubernetesEngine': return 'Custom (RKE)';
    case 'rke2': return 'RKE2';
    case 'k3s': return 'K3s';
    case 'imported': return 'Imported';
  }
  return driver || 'Unknown';
}

function k8sVersion(c) {
  const rke = c.rancherKubernetesEngineConfig;
  return rke ? rke.kubernetesVersion || '' : '';
}

function renderClusters() {
  const rows = state.clusters.map((c) => {
    const n = c.name;
    const pools = state.nodePools.filter((p) => p.clusterId === c.id);
    const rke = c.rancherKubernetesEngineConfig;
    const roles = (p) => [p.etcd && 'etcd', p.controlPlane && 'cp', p.worker && 'worker'].filter(Boolean).join(', ');
    return el('tr', { 'data-testid': `cluster-row-${n}`, id: `cluster-row-${n}`, 'data-id': c.id },
      el('td', {}, el('span', { class: `badge ${c.state}`, ...tid(`cluster-state-${n}`) }, c.state)),
      el('td', {}, el('div', { class: 'name' }, n),
        el('div', { class: 'muted small nowrap' }, el('span', { class: 'mono' }, c.id), ` · ${providerName(c.driver)}`)),
      el('td', {}, el('div', { class: 'mono' }, k8sVersion(c) || '—'),
        rke && rke.network ? el('div', { class: 'muted small' }, `${rke.network.plugin} network`) : null),
      el('td', {},
        el('div', {}, String(c.nodeCount || 0)),
        pools.length ? el('div', { class: 'chips' }, ...pools.map((p) =>
          el('span', { class: 'chip', ...tid(`nodepool-${n}-${p.hostnamePrefix}`), title: roles(p) },
            `${p.hostnamePrefix} ×${p.quantity}`))) : null),
      el('td', { class: 'muted', title: c.created }, ago(c.created)),
      el('td', { class: 'right' },
        el('button', { class: 'btn link small', type: 'button', ...tid(`cluster-edit-${n}`), onclick: () => openCluster(c) }, 'Edit'),
        el('button', { class: 'btn link small', type: 'button', ...tid(`cluster-kubeconfig-${n}`), onclick: () => kubeconfig(c) }, 'Kubeconfig'),
        el('button', { class: 'btn link small', type: 'button', ...tid(`cluster-add-nodepool-${n}`), onclick: () => openPool(c) }, 'Add pool'),
        el('button', { class: 'btn link small danger-text', type: 'button', ...tid(`cluster-delete-${n}`),
          onclick: () => confirmDelete(`Delete cluster ${n} and its node pools?`, () => deleteCluster(c)) }, 'Delete')));
  });
  $('cluster-rows').replaceChildren(...rows);
  $('cluster-empty').hidden = rows.length > 0;
}

function credentialOptions() {
  return [['', 'None'], ...state.credentials.map((c) => [c.id, c.name || c.id])];
}

function openCluster(c) {
  state.editing = c || null;
  hideError('cluster-error');
  $('cluster-modal-title').textContent = c ? `Edit cluster: ${c.name}` : 'Add cluster';
  $('cluster-save').textContent = c ? 'Save' : 'Create';
  $('cluster-name').value = c ? c.name : '';
  const rke = (c && c.rancherKubernetesEngineConfig) || {};
  $('cluster-k8s-version').value = rke.kubernetesVersion || $('cluster-k8s-version').options[0].value;
  $('cluster-network').value = (rke.network && rke.network.plugin) || 'canal';
  fillSelect($('cluster-credential'), credentialOptions(), (c && c.cloudCredentialId) || '');
  openModal('cluster-modal');
}

// withoutType drops the long "type" the server echoes in nested objects;
// the UI sends the short one, like Rancher's.
function withoutType(o) {
  const out = {};
  for (const [k, v] of Object.entries(o || {})) {
    if (k !== 'type') out[k] = v;
  }
  return out;
}

async function saveCluster(ev) {
  ev.preventDefault();
  hideError('cluster-error');
  const name = $('cluster-name').value.trim();
  const version = $('cluster-k8s-version').value;
  const plugin = $('cluster-network').value;
  const credential = $('cluster-credential').value;
  const c = state.editing;
  $('cluster-save').disabled = true;
  try {
    if (!c) {
      // The body of Rancher's cru-cluster component for a custom cluster.
      const body = {
        type: 'cluster',
        name,
        dockerRootDir: '/var/lib/docker',
        enableNetworkPolicy: false,
        windowsPreferedCluster: false,
        labels: {},
        annotations: {},
        rancherKubernetesEngineConfig: {
          type: 'rancherKubernetesEngineConfig',
          kubernetesVersion: version,
          network: { type: 'networkConfig', plugin },
          services: { type: 'rkeConfigServices', etcd: { type: 'etcdService', retention: '72h' } },
        },
      };
      if (credential) body.cloudCredentialId = credential;
      const created = await api('POST', '/v3/cluster?_replace=true', body);
      closeModal('cluster-modal');
      await loadAll();
      setStatus(`Cluster ${created.name} created`);
    } else {
      // With _replace=true, whatever is left out is cleared: send it all.
      const rke = withoutType(c.rancherKubernetesEngineConfig);
      const services = withoutType(rke.services);
      if (services.etcd) services.etcd = { ...withoutType(services.etcd), type: 'etcdService' };
      const body = {
        type: 'cluster',
        name,
        description: c.description || '',
        dockerRootDir: c.dockerRootDir,
        enableNetworkPolicy: c.enableNetworkPolicy,
        labels: c.labels || {},
        annotations: c.annotations || {},
        cloudCredentialId: credential || null,
        rancherKubernetesEngineConfig: {
          ...rke,
          type: 'rancherKubernetesEngineConfig',
          kubernetesVersion: version,
          network: { ...withoutType(rke.network), type: 'networkConfig', plugin },
          services: { ...services, type: 'rkeConfigServices' },
        },
      };
      const updated = await api('PUT', `/v3/clusters/${encodeURIComponent(c.id)}?_replace=true`, body);
      closeModal('cluster-modal');
      await loadAll();
      setStatus(`Cluster ${updated.name} updated`);
    }
  } catch (err) {
    showError('cluster-error', err);
  } finally {
    $('cluster-save').disabled = false;
  }
}

async function deleteCluster(c) {
  await api('DELETE', `/v3/clusters/${encodeURIComponent(c.id)}`);
  await loadAll();
  setStatus(`Cluster ${c.name} deleted`);
}

async function kubeconfig(c) {
  try {
    const out = await api('POST', `/v3/clusters/${encodeURIComponent(c.id)}?action=generateKubeconfig`);
    $('kubeconfig-title').textContent = `Kubeconfig: ${c.name}`;
    $('kubeconfig-text').value = out.config;
    if (state.kubeconfigURL) URL.revokeObjectURL(state.kubeconfigURL);
    state.kubeconfigURL = URL.createObjectURL(new Blob([out.config], { type: 'application/yaml' }));
    $('kubeconfig-download').href = state.kubeconfigURL;
    $('kubeconfig-download').download = `${c.name}.yaml`;
    openModal('kubeconfig-modal');
    setStatus(`Kubeconfig for ${c.name} generated`);
  } catch (err) {
    setStatus(`Error: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------- node pools

async function openPool(c) {
  state.poolFor = c;
  hideError('nodepool-error');
  try {
    await Promise.all([loadTemplates(), loadCredentials()]);
  } catch (err) {
    setStatus(`Error: ${err.message}`, 'error');
    return;
  }
  $('nodepool-modal-title').textContent = `Add node pool to ${c.name}`;
  const templates = state.nodeTemplates.map((t) => [t.id, `${t.name || t.id} (${t.driver || 'unknown'})`]);
  fillSelect($('nodepool-template'), [[NEW_TEMPLATE, 'Create a new template…'], ...templates], NEW_TEMPLATE);
  fillSelect($('nodetemplate-credential'), credentialOptions(), c.cloudCredentialId || '');
  $('nodetemplate-name').value = '';
  $('nodepool-prefix').value = `${c.name}-pool${state.nodePools.filter((p) => p.clusterId === c.id).length + 1}-`;
  $('nodepool-quantity').value = '1';
  for (const r of ['etcd', 'controlplane', 'worker']) $(`nodepool-${r}`).checked = true;
  toggleTemplateFields();
  openModal('nodepool-modal');
}

function toggleTemplateFields() {
  $('nodetemplate-fields').hidden = $('nodepool-template').value !== NEW_TEMPLATE;
}

async function savePool(ev) {
  ev.preventDefault();
  hideError('nodepool-error');
  const c = state.poolFor;
  const prefix = $('nodepool-prefix').value.trim();
  $('nodepool-save').disabled = true;
  try {
    let templateId = $('nodepool-template').value;
    let templateNote = '';
    if (templateId === NEW_TEMPLATE) {
      const tname = $('nodetemplate-name').value.trim() || `${c.name}-template`;
      const nt = await api('POST', '/v3/nodetemplate', {
        type: 'nodeTemplate',
        name: tname,
        cloudCredentialId: $('nodetemplate-credential').value || null,
        amazonec2Config: {
          type: 'amazonec2Config',
          region: $('nodetemplate-region').value,
          instanceType: $('nodetemplate-instance-type').value,
          zone: 'a',
          rootSize: '16',
        },
      });
      templateId = nt.id;
      templateNote = ` with template ${nt.name}`;
    }
    const pool = await api('POST', '/v3/nodepool', {
      type: 'nodePool',
      clusterId: c.id,
      nodeTemplateId: templateId,
      hostnamePrefix: prefix,
      quantity: Number($('nodepool-quantity').value) || 1,
      etcd: $('nodepool-etcd').checked,
      controlPlane: $('nodepool-controlplane').checked,
      worker: $('nodepool-worker').checked,
    });
    closeModal('nodepool-modal');
    await loadAll();
    setStatus(`Node pool ${pool.hostnamePrefix} added to ${c.name}${templateNote}`);
  } catch (err) {
    showError('nodepool-error', err);
  } finally {
    $('nodepool-save').disabled = false;
  }
}

// ---------------------------------------------------------------- node templates

function renderTemplates() {
  const rows = state.nodeTemplates.map((t) => {
    const n = t.name || t.id;
    const cfg = t.amazonec2Config || t.digitaloceanConfig || {};
    return el('tr', { ...tid(`nodetemplate-row-${n}`), 'data-id': t.id },
      el('td', {}, el('div', { class: 'name' }, n), el('div', { class: 'muted mono' }, t.id)),
      el('td', {}, t.driver || '—'),
      el('td', {}, cfg.region || '—'),
      el('td', { class: 'mono' }, cfg.instanceType || cfg.size || '—'),
      el('td', {}, credentialName(t.cloudCredentialId) || '—'),
      el('td', { class: 'muted', title: t.created }, ago(t.created)),
      el('td', { class: 'right' },
        el('button', { class: 'btn link small danger-text', type: 'button', ...tid(`nodetemplate-delete-${n}`),
          onclick: () => confirmDelete(`Delete node template ${n}?`, async () => {
            await api('DELETE', `/v3/nodetemplates/${encodeURIComponent(t.id)}`);
            await loadTemplates();
            renderTemplates();
            setStatus(`Node template ${n} deleted`);
          }) }, 'Delete')));
  });
  $('nodetemplate-rows').replaceChildren(...rows);
  $('nodetemplate-empty').hidden = rows.length > 0;
}

// ---------------------------------------------------------------- cloud credentials

function renderCredentials() {
  const rows = state.credentials.map((c) => {
    const n = c.name || c.id;
    const aws = c.amazonec2credentialConfig || {};
    return el('tr', { ...tid(`credential-row-${n}`), 'data-id': c.id },
      el('td', {}, el('div', { class: 'name' }, n), el('div', { class: 'muted mono' }, c.id)),
      el('td', {}, c.amazonec2credentialConfig ? 'Amazon EC2' : 'Other'),
      el('td', { class: 'mono' }, aws.accessKey || '—'),
      el('td', {}, aws.defaultRegion || '—'),
      el('td', { class: 'muted', title: c.created }, ago(c.created)),
      el('td', { class: 'right' },
        el('button', { class: 'btn link small danger-text', type: 'button', ...tid(`credential-delete-${n}`),
          onclick: () => confirmDelete(`Delete cloud credential ${n}?`, async () => {
            await api('DELETE', `/v3/cloudcredentials/${encodeURIComponent(c.id)}`);
            await loadCredentials();
            renderCredentials();
            setStatus(`Cloud credential ${n} deleted`);
          }) }, 'Delete')));
  });
  $('credential-rows').replaceChildren(...rows);
  $('credential-empty').hidden = rows.length > 0;
}

function openCredential() {
  hideError('credential-error');
  for (const f of ['credential-name', 'credential-access-key', 'credential-secret-key']) $(f).value = '';
  openModal('credential-modal');
}

async function saveCredential(ev) {
  ev.preventDefault();
  hideError('credential-error');
  $('credential-save').disabled = true;
  try {
    const cc = await api('POST', '/v3/cloudcredential', {
      type: 'cloudCredential',
      name: $('credential-name').value.trim(),
      amazonec2credentialConfig: {
        type: 'amazonec2credentialConfig',
        accessKey: $('credential-access-key').value.trim(),
        secretKey: $('credential-secret-key').value,
        defaultRegion: $('credential-region').value,
      },
    });
    $('credential-secret-key').value = '';
    closeModal('credential-modal');
    await loadCredentials();
    renderCredentials();
    setStatus(`Cloud credential ${cc.name || cc.id} created`);
  } catch (err) {
    showError('credential-error', err);
  } finally {
    $('credential-save').disabled = false;
  }
}

// ---------------------------------------------------------------- API keys

function renderTokens() {
  // Session tokens (from logins) are not API keys; kubeconfig tokens are
  // shown, as in Rancher, since they are keys too.
  const keys = state.tokens.filter((t) => t.isDerived).sort((a, b) => b.createdTS - a.createdTS);
  const rows = keys.map((t) => el('tr', { ...tid(`apikey-row-${t.name}`), 'data-id': t.id },
    el('td', { class: 'mono' }, t.name),
    el('td', {}, t.description || '—'),
    el('td', {}, t.clusterId || 'No scope'),
    el('td', {}, t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'Never'),
    el('td', { class: 'muted', title: t.created }, ago(t.created)),
    el('td', { class: 'right' },
      el('button', { class: 'btn link small danger-text', type: 'button', ...tid(`apikey-delete-${t.name}`),
        onclick: () => confirmDelete(`Delete API key ${t.name}? Scripts using it will stop working.`, async () => {
          await api('DELETE', `/v3/tokens/${encodeURIComponent(t.id)}`);
          await loadTokens();
          renderTokens();
          setStatus(`API key ${t.name} deleted`);
        }) }, 'Delete'))));
  $('apikey-rows').replaceChildren(...rows);
  $('apikey-empty').hidden = rows.length > 0;
}

function openAPIKey() {
  hideError('apikey-error');
  $('apikey-description').value = '';
  $('apikey-ttl').value = '0';
  $('apikey-token').value = '';
  apiKeyStep(false);
  openModal('apikey-modal');
}

function apiKeyStep(created) {
  $('apikey-new').hidden = created;
  $('apikey-created').hidden = !created;
  $('apikey-save').hidden = created;
  $('apikey-cancel').hidden = created;
  $('apikey-copy').hidden = !created;
  $('apikey-done').hidden = !created;
}

async function saveAPIKey(ev) {
  ev.preventDefault();
  hideError('apikey-error');
  $('apikey-save').disabled = true;
  try {
    const t = await api('POST', '/v3/token', {
      type: 'token',
      description: $('apikey-description').value.trim(),
      ttl: Number($('apikey-ttl').value),
    });
    $('apikey-token').value = t.token;
    apiKeyStep(true);
    await loadTokens();
    renderTokens();
    setStatus(`API key ${t.name} created`);
  } catch (err) {
    showError('apikey-error', err);
  } finally {
    $('apikey-save').disabled = false;
  }
}

function closeAPIKey() {
  // Forget the secret: it is shown once.
  $('apikey-token').value = '';
  closeModal('apikey-modal');
}

// ---------------------------------------------------------------- misc

function confirmDelete(text, run) {
  $('confirm-text').textContent = text;
  state.confirm = run;
  openModal('confirm-modal');
}

async function confirmed() {
  const run = state.confirm;
  state.confirm = null;
  closeModal('confirm-modal');
  if (!run) return;
  try {
    await run();
  } catch (err) {
    setStatus(`Error: ${err.message}`, 'error');
  }
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    setStatus(`${what} copied to the clipboard`);
  } catch {
    setStatus(`Select the ${what.toLowerCase()} and copy it by hand`, 'error');
  }
}

function bindEvents() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', () => { if (state.me) route(); });

  $('refresh').addEventListener('click', async () => {
    try {
      await loadAll();
      setStatus('Clusters refreshed');
    } catch (err) {
      setStatus(`Error: ${err.message}`, 'error');
    }
  });
  $('add-cluster').addEventListener('click', async () => {
    try {
      await loadCredentials();
    } catch (err) {
      setStatus(`Error: ${err.message}`, 'error');
      return;
    }
    openCluster(null);
  });
  $('cluster-form').addEventListener('submit', saveCluster);
  $('cluster-cancel').addEventListener('click', () => closeModal('cluster-modal'));

  $('nodepool-form').addEventListener('submit', savePool);
  $('nodepool-template').addEventListener('change', toggleTemplateFields);
  $('nodepool-cancel').addEventListener('click', () => closeModal('nodepool-modal'));

  $('kubeconfig-close').addEventListener('click', () => closeModal('kubeconfig-modal'));
  $('kubeconfig-copy').addEventListener('click', () => copy($('kubeconfig-text').value, 'Kubeconfig'));

  $('add-credential').addEventListener('click', openCredential);
  $('credential-form').addEventListener('submit', saveCredential);
  $('credential-cancel').addEventListener('click', () => closeModal('credential-modal'));

  $('add-apikey').addEventListener('click', openAPIKey);
  $('apikey-form').addEventListener('submit', saveAPIKey);
  $('apikey-cancel').addEventListener('click', closeAPIKey);
  $('apikey-done').addEventListener('click', closeAPIKey);
  $('apikey-copy').addEventListener('click', () => copy($('apikey-token').value, 'API key'));

  $('confirm-ok').addEventListener('click', confirmed);
  $('confirm-cancel').addEventListener('click', () => closeModal('confirm-modal'));

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    for (const m of ['cluster-modal', 'nodepool-modal', 'kubeconfig-modal', 'credential-modal', 'confirm-modal']) closeModal(m);
    if (!$('apikey-modal').hidden) closeAPIKey();
  });
}

init();
