// The one list of crema's error and diagnostic codes. Codes are stable: users search for them
// and scripts match on them, so a code is never renamed or reused. Analyzer messages reuse
// Istio's IST codes where Istio has an equivalent.

export interface ErrorInfo {
  /** Short title, shown as the heading in docs/reference/errors.md. */
  title: string;
  /** What it means. */
  meaning: string;
  /** How to solve it. */
  solve: string;
}

const catalogue = {
  // base
  CREMA_BASE_INVALID_DURATION: {
    title: "Invalid duration",
    meaning: "A duration string could not be parsed.",
    solve:
      "Write a number followed by a unit: h, m, s, ms, us or ns — for example `1.5s` or `300ms`.",
  },
  CREMA_BASE_INTERNAL: {
    title: "Internal error",
    meaning: "crema hit a condition it did not expect. This is a bug.",
    solve: "Report it with the command you ran and the input that caused it.",
  },

  // echo: the test workload
  CREMA_ECHO_INVALID_OPTION: {
    title: "Invalid echo option",
    meaning:
      "A flag or environment variable of `crema echo` has a value it cannot use (a port, a label, a duration, an identity field, or TLS files given without their pair).",
    solve:
      "Fix the value named in the message; `crema echo --help` lists every flag and its environment variable.",
  },
  CREMA_ECHO_TLS_CONFIG: {
    title: "Unusable TLS files",
    meaning:
      "The certificate, key or CA file given to `crema echo` cannot be read or is not valid PEM, or the key does not match the certificate.",
    solve:
      "Pass readable PEM files: a certificate with its matching private key, and optionally a CA bundle for client certificates.",
  },
  CREMA_ECHO_LISTEN_FAILED: {
    title: "Cannot listen",
    meaning:
      "`crema echo` could not bind one of its ports: it is in use, or the address is not local, or the port needs privileges.",
    solve:
      "Choose another port (0 picks a free one) or stop the process holding it; ports below 1024 need privileges.",
  },

  // proxy: the data plane
  CREMA_PROXY_INVALID_FLAG: {
    title: "Invalid proxy flag",
    meaning:
      "A flag or Istio-style environment variable of `crema proxy` is missing or has a value it cannot use (the pod name, namespace or IP, a label, metadata, an address, a duration or the proxy type).",
    solve:
      "Fix the value named in the message; `crema proxy --help` lists every flag and the environment variable it overrides.",
  },

  // runtime: the local mesh runtime (`crema up` and the commands that talk to it)
  CREMA_RUNTIME_NOT_RUNNING: {
    title: "No local mesh is running",
    meaning:
      "A command that talks to the local runtime found no running mesh in the state directory (no `runtime.json`, or the process it names has exited).",
    solve:
      "Start one with `crema up PATH…` (add `--detach` to keep it running in the background), or pass the `--state-dir` the mesh was started with.",
  },
  CREMA_RUNTIME_INVALID_CONFIG: {
    title: "The mesh's configuration is invalid",
    meaning:
      "`crema up` validated its manifests before starting anything and found errors (each is listed with its file, line, resource and field).",
    solve:
      "Fix the errors listed (`crema validate PATH` shows the same ones), then run `crema up` again.",
  },
  CREMA_RUNTIME_ALREADY_RUNNING: {
    title: "A local mesh is already running",
    meaning: "`crema up` found a running mesh in the same state directory.",
    solve:
      "Stop it with `crema down`, change it live with `crema apply -f`, or start another mesh with its own `--state-dir`.",
  },
  CREMA_RUNTIME_BUNDLE: {
    title: "The CLI bundle could not be made",
    meaning:
      "The local runtime bundles crema's own modules into one file for the sidecars and gateways it starts (they start faster), and keeps the bundle under `node_modules/.cache/crema`. Bundling or copying it failed; the mesh still starts, from the unbundled modules, and the runtime's log says why.",
    solve:
      "Make sure `node_modules/.cache` is writable and `rolldown` is installed (`npm ci`); if the message names a parse error in a source file, fix that file.",
  },
  CREMA_RUNTIME_POD_NOT_FOUND: {
    title: "No such pod",
    meaning:
      "The pod or Deployment named on the command line is not running in the local mesh (names are `name` or `name.namespace`).",
    solve: "Run `crema status` to list the pods, and name one of them or its Deployment.",
  },
  CREMA_RUNTIME_UNSUPPORTED_MANIFEST: {
    title: "Manifest the local runtime cannot run",
    meaning:
      "A Kubernetes resource asks for something the local runtime cannot do: a kind it does not run (such as StatefulSet or DaemonSet), or a container without a `command` (images are not run locally).",
    solve:
      "Give each container a `command` (and `args`) that runs on this machine; run other kinds on Kubernetes. The message names the file, resource and field.",
  },
  CREMA_RUNTIME_PORT_IN_USE: {
    title: "Port already in use",
    meaning:
      "The local runtime could not listen on a host port it needs (the ingress gateway's `--ingress-port` or `--ingress-tls-port`).",
    solve:
      "Stop the process holding the port, or choose another with `--ingress-port` / `--ingress-tls-port` (0 picks a free one).",
  },
  CREMA_RUNTIME_POD_NOT_READY: {
    title: "Pod did not become ready",
    meaning:
      "`crema up --detach` waited for every pod to become ready and one did not: its process exited, its command was not found, or its readiness probe kept failing.",
    solve:
      "Read the pod's last log lines (shown with the error, and by `crema logs POD`), fix its command or configuration, and run `crema up` again.",
  },
  CREMA_RUNTIME_NOT_SYNCED: {
    title: "Mesh not synced in time",
    meaning:
      "`crema apply --wait` (or `crema delete --wait`) waited for every proxy to acknowledge the configuration the change caused, and for every pod it asks for to be ready, and the time ran out: a proxy rejected the configuration (a NACK), stopped answering, or a pod did not become ready.",
    solve:
      "`crema proxy-status` shows which proxy is behind (and a NACK's reason); `crema status` and `crema logs POD` show a pod that is not ready. A longer `--timeout` helps when pods are slow to start.",
  },
  CREMA_RUNTIME_REQUEST_FAILED: {
    title: "Local runtime request failed",
    meaning:
      "A command could not talk to the running mesh's API or to a proxy's admin server (the process stopped, or answered with an error).",
    solve: "Check `crema status`; if the mesh is gone, start it again with `crema up`.",
  },

  // xds: the protocol between control plane and proxies
  CREMA_XDS_INVALID_RESOURCE: {
    title: "Invalid xDS resource",
    meaning:
      "A resource could not be converted to or from its Envoy protobuf type: an unknown field, a value of the wrong type, or a malformed duration.",
    solve:
      "The message names the field. For resources crema generates this is a bug; for resources from an EnvoyFilter, fix the patch.",
  },
  CREMA_XDS_UNKNOWN_TYPE: {
    title: "Unknown xDS type",
    meaning: "A type URL names a protobuf message crema does not know.",
    solve: "Use one of the Envoy v3 types crema supports (listed in docs/xds.md).",
  },

  // ca: the certificate authority (root and signing keys, workload certificates, bootstrap tokens)
  CREMA_CA_INVALID_FILE: {
    title: "Unusable CA file",
    meaning:
      "A file of the certificate authority (`ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem` or the bootstrap token key) is missing, unreadable, or not the PEM it should be. The message names the file.",
    solve:
      "Restore the file named in the message, or remove the whole directory of a self-signed CA to have a new root generated (every workload certificate it issued stops being trusted).",
  },
  CREMA_CA_KEY_MISMATCH: {
    title: "CA key does not match its certificate",
    meaning: "The private key in `ca-key.pem` is not the key of the certificate in `ca-cert.pem`.",
    solve:
      "Put the key that was generated with the signing certificate in `ca-key.pem` (the pair from the same CSR), or issue a new signing certificate for the key you have.",
  },
  CREMA_CA_INVALID_CHAIN: {
    title: "CA certificate chain is invalid",
    meaning:
      "The plugged-in signing certificate cannot be used: it is not a CA certificate, has expired or is not yet valid, or does not chain to a certificate in `root-cert.pem` through the certificates in `cert-chain.pem`.",
    solve:
      "Check the certificates named in the message: `ca-cert.pem` must be a CA certificate, `cert-chain.pem` must hold the intermediates from it up to the root, and `root-cert.pem` the root that signed the top one.",
  },
  CREMA_CA_INVALID_CSR: {
    title: "Invalid certificate signing request",
    meaning:
      "A certificate signing request was refused before its identity was checked: it is missing, too large, not a PEM `CERTIFICATE REQUEST`, uses an unsupported key, or its signature does not verify.",
    solve:
      "Send one PKCS#10 CSR in PEM, signed with the private key it carries (ECDSA P-256/P-384 or RSA 2048+). crema's agent does this; other clients should compare with `openssl req -verify`.",
  },
  CREMA_CA_IDENTITY_MISMATCH: {
    title: "CSR asks for another identity",
    meaning:
      "The SPIFFE identity in the CSR's URI SAN is not the caller's own `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`, or the CSR asks for no SPIFFE identity at all. A workload may only get a certificate for itself.",
    solve:
      "Request the identity the caller's token is bound to (its namespace and service account, in the mesh's trust domain or one of its aliases), or authenticate with a token for the identity you need.",
  },
  CREMA_CA_TTL_TOO_LONG: {
    title: "Requested certificate lifetime is too long",
    meaning:
      "A CSR asked for a validity longer than the CA's maximum workload certificate lifetime (90 days by default, as in Istio). Istio refuses such requests rather than shortening them, and so does crema.",
    solve:
      "Ask for a shorter validity (the default, 24 hours, is used when the request gives none), or raise the CA's maximum.",
  },
  CREMA_CA_NOT_READY: {
    title: "Certificate authority cannot sign",
    meaning:
      "The CA's signing certificate has expired or is not yet valid at the current time, so no certificate it signs would be trusted.",
    solve:
      "Self-signed CAs rotate their root before it expires; check the machine's clock. For a plugged-in CA, install a new signing certificate in `cacerts` before the old one expires.",
  },
  CREMA_CA_UNAUTHENTICATED: {
    title: "Certificate request not authenticated",
    meaning:
      "A call to the CA carried no usable credentials: no `authorization: Bearer` token, or a token that is malformed, expired, not signed by this control plane, or not meant for the CA (audience `istio-ca`).",
    solve:
      "Issue a fresh bootstrap token for the workload's namespace and service account and send it as `authorization: Bearer <token>`; the message names what was wrong with the one sent.",
  },
  CREMA_CA_INVALID_IDENTITY: {
    title: "Invalid workload identity",
    meaning:
      "A trust domain, namespace or service account name cannot form a SPIFFE identity (it is empty, or contains `/` or characters a SPIFFE ID does not allow).",
    solve:
      "Use Kubernetes names: lower-case letters, digits, `-` and `.`; a trust domain such as `cluster.local`.",
  },

  // config: reading and decoding input
  CREMA_CONFIG_READ_FAILED: {
    title: "Cannot read input",
    meaning: "A file or directory named on the command line could not be read.",
    solve:
      "Check that the path exists and is readable; directories are read recursively for .yaml, .yml and .json files.",
  },
  CREMA_CONFIG_NOT_TEXT: {
    title: "Input is not text",
    meaning:
      "The file contains bytes that are not UTF-8 text (for example a binary or an archive).",
    solve: "Pass only YAML or JSON files.",
  },
  CREMA_CONFIG_TOO_LARGE: {
    title: "Input too large",
    meaning: "The file is larger than the limit for one configuration file (16 MiB).",
    solve: "Split the configuration into several files.",
  },
  CREMA_CONFIG_YAML_SYNTAX: {
    title: "YAML syntax error",
    meaning: "The document is not valid YAML (or JSON).",
    solve:
      "Fix the syntax at the reported line and column; indentation and unquoted ':' are the usual causes.",
  },
  CREMA_CONFIG_YAML_DUPLICATE_KEY: {
    title: "Duplicate key",
    meaning: "A mapping names the same key twice; Kubernetes would silently keep only one of them.",
    solve: "Remove or merge the repeated key.",
  },
  CREMA_CONFIG_YAML_ALIAS_LIMIT: {
    title: "YAML aliases expand too far",
    meaning:
      "The document uses anchors and aliases that expand to an excessive size (a 'billion laughs' document) or refer to themselves.",
    solve: "Write the configuration out without recursive or heavily nested aliases.",
  },
  CREMA_CONFIG_NOT_OBJECT: {
    title: "Document is not a resource",
    meaning: "A YAML document is not a mapping with apiVersion, kind, metadata and spec.",
    solve: "Each document must be a Kubernetes-style object; separate documents with '---'.",
  },
  CREMA_CONFIG_MISSING_KIND: {
    title: "Missing apiVersion or kind",
    meaning: "A document has no apiVersion or no kind, so crema cannot tell what it is.",
    solve: "Add `apiVersion` (e.g. networking.istio.io/v1) and `kind` (e.g. VirtualService).",
  },
  CREMA_CONFIG_UNKNOWN_KIND: {
    title: "Unknown kind",
    meaning: "The apiVersion/kind is not one crema reads.",
    solve:
      "Check the spelling of kind and the API group; run `crema validate --help` for the list of supported kinds.",
  },
  CREMA_CONFIG_UNSUPPORTED_VERSION: {
    title: "Unsupported API version",
    meaning: "The kind is known but not served at that API version.",
    solve: "Use one of the versions Istio serves for the kind, listed in the message.",
  },
  CREMA_CONFIG_INVALID_METADATA: {
    title: "Invalid metadata",
    meaning: "metadata is missing a name, or a name, namespace, label or annotation is malformed.",
    solve:
      "Names and namespaces are lowercase DNS labels (a-z, 0-9, '-'); labels follow Kubernetes' key/value rules.",
  },
  CREMA_CONFIG_DUPLICATE_RESOURCE: {
    title: "Duplicate resource",
    meaning:
      "Two documents define the same kind, namespace and name; the later one would replace the earlier.",
    solve: "Rename one of them or delete the duplicate.",
  },
  CREMA_CONFIG_EMPTY: {
    title: "No resources",
    meaning: "The input contains no resources.",
    solve: "Check that the path points at the intended files.",
  },

  // config: schema (level 1)
  CREMA_SCHEMA_UNKNOWN_FIELD: {
    title: "Unknown field",
    meaning:
      "The field is not part of the kind's schema. Kubernetes would drop it, so the setting would silently do nothing.",
    solve: "Check the spelling and the indentation; the message suggests the closest known field.",
  },
  CREMA_SCHEMA_TYPE: {
    title: "Wrong type",
    meaning:
      "The value has the wrong type (for example a string where a number or a list is expected).",
    solve:
      "Use the type the message names; quote values that YAML would otherwise read as numbers or booleans.",
  },
  CREMA_SCHEMA_ENUM: {
    title: "Value not allowed",
    meaning: "The value is not one of the values the field accepts.",
    solve: "Use one of the values listed in the message (they are case-sensitive).",
  },
  CREMA_SCHEMA_REQUIRED: {
    title: "Missing required field",
    meaning: "A field the schema requires is absent.",
    solve: "Add the field named in the message.",
  },
  CREMA_SCHEMA_INVALID: {
    title: "Schema constraint violated",
    meaning:
      "The value breaks a schema constraint other than type or enum (a pattern, a length, a range, or a one-of choice).",
    solve: "Change the value as the message says.",
  },

  // config: semantics (level 2, Istio's validating webhook rules)
  CREMA_VALIDATION_DURATION: {
    title: "Invalid duration",
    meaning:
      "A duration is malformed or out of the range Istio accepts (most durations must be at least 1ms).",
    solve: "Write a duration such as `500ms` or `2s` within the stated range.",
  },
  CREMA_VALIDATION_PORT: {
    title: "Invalid port",
    meaning: "A port number is outside 1–65535 (or the range the field allows).",
    solve: "Use a port number between 1 and 65535.",
  },
  CREMA_VALIDATION_HOST: {
    title: "Invalid host",
    meaning:
      "A host name is not a valid DNS name, a valid wildcard ('*' or '*.domain'), or is not allowed in this field.",
    solve:
      "Use a fully qualified name, a short service name, or a leading-wildcard form such as '*.example.com'.",
  },
  CREMA_VALIDATION_REGEX: {
    title: "Invalid regular expression",
    meaning:
      "A regex is not valid RE2 syntax (Envoy and Istio use RE2: no backreferences or lookaround).",
    solve: "Rewrite the expression in RE2 syntax.",
  },
  CREMA_VALIDATION_EXCLUSIVE: {
    title: "Mutually exclusive fields",
    meaning:
      "Fields that cannot be combined are set together (for example `redirect` and `route`).",
    solve: "Keep only one of the fields the message names.",
  },
  CREMA_VALIDATION_REQUIRED: {
    title: "Required setting missing",
    meaning: "Istio requires this field (or one of a group of fields) in this context.",
    solve: "Add the field the message names.",
  },
  CREMA_VALIDATION_RANGE: {
    title: "Value out of range",
    meaning: "A number or percentage is outside the range Istio accepts.",
    solve: "Use a value within the range stated in the message.",
  },
  CREMA_VALIDATION_WEIGHT: {
    title: "Invalid route weights",
    meaning: "Route weights are negative, or all zero across several destinations.",
    solve: "Give each destination a non-negative weight and at least one a positive weight.",
  },
  CREMA_VALIDATION_ADDRESS: {
    title: "Invalid IP address or CIDR",
    meaning: "A value expected to be an IP address or CIDR block is not one.",
    solve: "Write an IPv4/IPv6 address (10.0.0.1) or a CIDR block (10.0.0.0/8).",
  },
  CREMA_VALIDATION_LABELS: {
    title: "Invalid labels or selector",
    meaning: "A label key or value, or a workload selector, is malformed.",
    solve:
      "Label keys are [prefix/]name with name ≤ 63 characters of [A-Za-z0-9-_.]; values ≤ 63 characters of the same.",
  },
  CREMA_VALIDATION_NAME: {
    title: "Invalid name",
    meaning: "A name inside the spec (port name, subset name, gateway reference …) is malformed.",
    solve: "Use a lowercase DNS label or the form the message describes.",
  },
  CREMA_VALIDATION_DUPLICATE: {
    title: "Duplicate entry",
    meaning:
      "A list contains an entry twice where Istio requires uniqueness (subset names, port numbers, server port names …).",
    solve: "Remove or rename the repeated entry.",
  },
  CREMA_VALIDATION_HEADER: {
    title: "Invalid header",
    meaning:
      "A header name or header operation is not allowed (for example an empty name, or a pseudo-header other than :authority).",
    solve: "Use a valid HTTP header name.",
  },
  CREMA_VALIDATION_JWT: {
    title: "Invalid JWT rule",
    meaning:
      "A RequestAuthentication jwtRules entry is invalid (missing issuer, bad jwksUri, both jwks and jwksUri …).",
    solve: "Fix the rule as the message says.",
  },
  CREMA_VALIDATION_POLICY: {
    title: "Invalid authorization policy",
    meaning: "An AuthorizationPolicy combines action, provider and rules in a way Istio rejects.",
    solve: "Fix the combination as the message says.",
  },
  CREMA_VALIDATION_INVALID: {
    title: "Invalid value",
    meaning: "A value breaks one of Istio's validation rules.",
    solve: "Change the value as the message says.",
  },
  CREMA_VALIDATION_DEPRECATED: {
    title: "Deprecated field",
    meaning: "The field still works but is deprecated by Istio.",
    solve: "Move to the replacement the message names.",
  },

  // config: analysis across resources (level 3) — Istio's analyzer codes
  IST0101: {
    title: "ReferencedResourceNotFound",
    meaning:
      "A resource refers to another (a gateway, a host, a subset, a secret, a service) that does not exist.",
    solve: "Create the referenced resource, or correct the reference.",
  },
  IST0102: {
    title: "NamespaceNotInjected",
    meaning:
      "A namespace with workloads is not labelled for sidecar injection, so its pods are outside the mesh.",
    solve:
      "Label the namespace `istio-injection=enabled`, or ignore this if the namespace is deliberately outside the mesh.",
  },
  IST0104: {
    title: "GatewayPortNotOnWorkload",
    meaning: "A Gateway's server port is not exposed by any workload the Gateway selects.",
    solve: "Use a port the gateway's Service or pods expose, or fix the selector.",
  },
  IST0106: {
    title: "SchemaValidationError",
    meaning:
      "The resource failed validation; crema reports the underlying CREMA_SCHEMA_* or CREMA_VALIDATION_* code instead.",
    solve: "See the specific code.",
  },
  IST0109: {
    title: "ConflictingMeshGatewayVirtualServiceHosts",
    meaning:
      "Several VirtualServices bound to the mesh define the same host; on sidecars only one of them applies.",
    solve: "Merge them into one VirtualService, or bind them to different hosts.",
  },
  IST0110: {
    title: "ConflictingSidecarWorkloadSelectors",
    meaning:
      "Several Sidecar resources in a namespace select the same workload; which one applies is undefined.",
    solve: "Make the selectors disjoint.",
  },
  IST0111: {
    title: "MultipleSidecarsWithoutWorkloadSelectors",
    meaning:
      "A namespace has more than one Sidecar without a workload selector; only one may be the namespace default.",
    solve: "Keep one selector-less Sidecar per namespace.",
  },
  IST0112: {
    title: "VirtualServiceDestinationPortSelectorRequired",
    meaning: "A route sends to a service with several ports without naming the port.",
    solve: "Add `destination.port.number`.",
  },
  IST0113: {
    title: "MTLSPolicyConflict",
    meaning:
      "A DestinationRule's TLS mode contradicts the PeerAuthentication of its destination (for example DISABLE towards a STRICT workload), so requests will fail.",
    solve:
      "Use ISTIO_MUTUAL (or remove the DestinationRule's tls) for destinations that require mTLS.",
  },
  IST0118: {
    title: "PortNameIsNotUnderNamingConvention",
    meaning:
      "A Service port name does not start with a protocol prefix and has no appProtocol, so Istio must guess the protocol.",
    solve:
      "Name the port `<protocol>[-suffix]` (http, http2, grpc, tcp, tls, https …) or set appProtocol.",
  },
  IST0127: {
    title: "NoMatchingWorkloadsFound",
    meaning: "A policy's workload selector matches no workload in its namespace.",
    solve: "Fix the selector labels, or remove the policy.",
  },
  IST0128: {
    title: "NoServerCertificateVerificationDestinationLevel",
    meaning:
      "A DestinationRule originates TLS without a CA certificate, so the server's certificate is not verified.",
    solve:
      "Set `caCertificates` or `credentialName`, or set `insecureSkipVerify: true` to accept it knowingly.",
  },
  IST0130: {
    title: "VirtualServiceUnreachableRule",
    meaning:
      "A VirtualService rule can never be used because an earlier rule already matches every request.",
    solve: "Move the rule above the catch-all rule, or narrow the earlier rule's match.",
  },
  IST0131: {
    title: "VirtualServiceIneffectiveMatch",
    meaning:
      "A VirtualService rule can never match because an earlier rule already matches everything it does.",
    solve: "Reorder the rules or narrow the earlier one.",
  },
  IST0132: {
    title: "VirtualServiceHostNotFoundInGateway",
    meaning:
      "A VirtualService bound to a Gateway names a host that none of the Gateway's servers accept.",
    solve: "Add the host to the Gateway's servers, or correct the VirtualService host.",
  },
  IST0145: {
    title: "ConflictingGateways",
    meaning: "Several Gateways on the same workload and port claim the same host.",
    solve: "Merge them or give them distinct hosts.",
  },
  IST0173: {
    title: "DestinationRuleSubsetNotSelectPods",
    meaning: "A DestinationRule subset's labels select no endpoint of its host.",
    solve: "Fix the subset labels so they match pod labels (usually `version`).",
  },
  CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND: {
    title: "DestinationRule host not found",
    meaning: "A DestinationRule's host is neither a Service nor a ServiceEntry host in the input.",
    solve: "Correct the host, or add the Service or ServiceEntry it should apply to.",
  },
} satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof catalogue;

export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorInfo>> = catalogue;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(catalogue, value);
}
