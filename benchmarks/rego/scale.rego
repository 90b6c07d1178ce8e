# The three checks of benchmarks/bench_scale.py's policy, in Rego, over the graph JSON that
# `mlpolicy graph --format json` exports (input) and the trusted key ids (data.team).
package mlpolicy.scale

import rego.v1

artifacts := {n.id: n | some n in input.nodes; n.kind == "artifact"}

# attestation id -> the trusted keys whose signature on it verified
trusted_signers := {n.id: keys |
	some n in input.nodes
	n.kind == "attestation"
	keys := {s.keyid | some s in n.signatures; s.status == "valid"; s.keyid in data.team}
}

# S-1: every artifact matching "out/**" is signed by at least 2 of team (at its current sha256)
signed_by[artifact] contains key if {
	some e in input.edges
	e.kind == "product"
	artifact := e.target
	e.digest.sha256 == artifacts[artifact].workspace.sha256
	some key in trusted_signers[e.source]
}

unsigned contains a.path if {
	some a in artifacts
	glob.match("out/**", ["/"], a.path)
	count(object.get(signed_by, a.id, set())) < 2
}

# L-1: every artifact matching "out/**" derives from artifacts matching "data/*"
downstream[source] contains e.target if {
	some e in input.edges
	e.kind in {"input", "output"}
	source := e.source
}

raw := {a.id | some a in artifacts; glob.match("data/*", ["/"], a.path)}

derived := graph.reachable(downstream, raw)

# a produced artifact derives from raw data when a step downstream of it wrote it
from_raw contains e.target if {
	some e in input.edges
	e.kind == "output"
	e.source in derived
}

no_lineage contains a.path if {
	some a in artifacts
	glob.match("out/**", ["/"], a.path)
	not a.id in from_raw
}

# P-1: every step in model_training (steps "s*") is performed by team
performed contains e.target if {
	some e in input.edges
	e.kind == "attests"
	count(trusted_signers[e.source]) > 0
}

not_performed contains s.name if {
	some s in input.nodes
	s.kind == "step"
	glob.match("s*", [], s.name)
	not s.id in performed
}

violations := {"S-1": unsigned, "L-1": no_lineage, "P-1": not_performed}
