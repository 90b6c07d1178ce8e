"""SARIF 2.1.0 output, for code-scanning dashboards (GitHub code scanning, IDE viewers).

One rule (``reportingDescriptor``) per control, carrying its title, description,
severity and where the policy defines it; one result per finding.

Where a result is located: its primary location is where the finding's subject
is defined in the pipeline (the ``dvc.yaml`` line of the step, or of the step
producing the artifact), and the policy rule that the subject fails is a related
location. SARIF's ``locations`` name what is in violation, and the rule itself
is described by the result's ``reportingDescriptor``; it also puts a pull
request's annotation on the pipeline line the change touched. A finding whose
subject has no definition (a link of an unknown step, a rule that selected
nothing, a built-in integrity finding on a source file) is located at its
policy rule instead, so every result has a location and every result names
its rule.

URIs are relative to the folder mlpolicy ran in (``uriBaseId`` ``%SRCROOT%``),
as the repository argument was given: run from the top of the git checkout so
that code scanning finds the files. Output is deterministic: same inputs, same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from policy_engine import __version__
from policy_engine.evaluate import Finding
from policy_engine.lifecycle import STAGES
from policy_engine.loader import BUNDLED_PREFIX
from policy_engine.report import policy_change
from policy_engine.results import CheckResult

if TYPE_CHECKING:
    from policy_engine.compiler import ir
    from policy_engine.results import DiffResult

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks security alerts by this CVSS-like score (0.0 to 10.0).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
FINGERPRINT = "mlpolicyFinding/v1"
BUILTIN_HELP = (
    "A built-in check of mlpolicy: it applies to every repository, whatever its policy says."
)
Json = dict[str, Any]


def render_sarif(result: CheckResult, repository: str) -> str:
    """SARIF for `mlpolicy check`: every finding of the evaluation."""
    findings = [(f, None) for f in result.evaluation.findings]
    properties = {"policy": result.policy.name, "repository": repository}
    log = _log(result.policy.controls, findings, repository, properties, result.policy.location)
    return _dump(log)


def render_sarif_diff(diff: DiffResult) -> str:
    """SARIF for `mlpolicy diff`: the head's findings, each with its ``baselineState``.

    Fixed findings are not results (code scanning would show them as open
    alerts); the run's properties count them.
    """
    findings = [(f, "new") for f in diff.new] + [(f, "unchanged") for f in diff.unchanged]
    findings.sort(key=lambda pair: pair[0].sort_key())
    properties = {
        "policy": diff.result.policy.name,
        "repository": diff.repository,
        "base": {"ref": diff.base.ref, "commit": diff.base.commit},
        "head": {"ref": diff.head.ref, "commit": diff.head.commit, "dirty": diff.head.dirty},
        "policyChanged": diff.policy_changed,
        "policyFrom": diff.policy_from,
        "judgedWith": diff.judged_with,
        "new": len(diff.new),
        "fixed": len(diff.fixed),
        "unchanged": len(diff.unchanged),
        "notes": list(diff.notes),
    }
    policy = diff.result.policy
    log = _log(policy.controls, findings, diff.repository, properties, policy.location)
    _add_policy_change(log["runs"][0], diff)
    return _dump(log)


def _add_policy_change(run: Json, diff: DiffResult) -> None:
    """A policy change is a result of its own rule: an error when it fails the diff, located at
    the first policy file that changed (or the policy's declaration, for keys only)."""
    change = diff.policy_change
    if change is None:
        return
    description = "A pull request cannot change the policy or the keys that judge it unreviewed."
    rule = _rule(
        policy_change.RULE_ID, policy_change.TITLE, description, "high", "secure_pipelines", None
    )
    rule["defaultConfiguration"] = {"level": "error"}
    run["tool"]["driver"]["rules"].append(rule)
    where = diff.result.policy.location
    file, line = (change.files[0], None) if change.files else (where.file, where.line)
    result: Json = {
        "ruleId": policy_change.RULE_ID,
        "ruleIndex": len(run["tool"]["driver"]["rules"]) - 1,
        "kind": "fail" if diff.policy_change_fails else "review",
        "level": "error" if diff.policy_change_fails else "note",
        "message": {"text": _escape(policy_change.summary(diff, change))},
        "locations": [_location(diff.repository, file, line, None)],
        "baselineState": "new",
        "properties": {"files": list(change.files), "keys": list(change.keys)},
    }
    run["results"].append(result)


def _dump(log: Json) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _log(
    controls: Sequence[ir.Control],
    findings: Sequence[tuple[Finding, str | None]],
    repository: str,
    properties: Json,
    fallback: ir.Location,
) -> Json:
    rules = _rules(controls, [f for f, _ in findings], repository)
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    results = [_result(f, state, index[f.control], repository, fallback) for f, state in findings]
    driver = {
        "name": "mlpolicy",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": rules,
    }
    run = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": properties,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules(
    controls: Sequence[ir.Control], findings: Iterable[Finding], repository: str
) -> list[Json]:
    """One rule per control of the policy, then one per built-in check that reported."""
    rules = [
        _rule(c.id, c.title, c.description, c.severity, c.stage, _place(c.location, repository))
        for c in controls
    ]
    known = {c.id for c in controls}
    builtins = {f.control: f for f in findings if f.control not in known}
    for control in sorted(builtins):
        f = builtins[control]
        rules.append(_rule(control, f.title, BUILTIN_HELP, f.severity, f.stage, None))
    return rules


def _place(location: ir.Location, repository: str) -> str:
    if location.file.startswith(BUNDLED_PREFIX):
        return f"{location.file}:{location.line}"
    return f"{_path(repository, location.file)}:{location.line}"


def _rule_location(location: ir.Location, repository: str) -> Json:
    """A rule in the repository is a physical location; a rule of a bundled pack (no file of
    the repository) a logical one, named ``@mlpolicy/PACK.policy:LINE``."""
    if location.file.startswith(BUNDLED_PREFIX):
        name = f"{location.file}:{location.line}"
        return {"logicalLocations": [{"fullyQualifiedName": name, "kind": "module"}]}
    return _location(repository, location.file, location.line, location.column)


def _rule(
    control: str, title: str, description: str, severity: str, stage: str, where: str | None
) -> Json:
    stage_title = STAGES.get(stage, stage)
    defined = f" Defined in {where}." if where else ""
    help_text = (
        f"{title}. {description}".rstrip() + f"\nSeverity {severity}; lifecycle stage "
        f"{stage_title} (`{stage}`).{defined}"
    )
    return {
        "id": control,
        "name": title,
        "shortDescription": {"text": title},
        "fullDescription": {"text": description or title},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {
            "tags": ["security", "mlsecops", stage],
            "precision": "high",
            "security-severity": SECURITY_SEVERITY[severity],
            "severity": severity,
            "stage": stage,
        },
    }


def _result(
    finding: Finding, state: str | None, rule_index: int, repository: str, fallback: ir.Location
) -> Json:
    rule_location = _rule_location(finding.location, repository)
    subject = finding.subject_source
    result: Json = {
        "ruleId": finding.control,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": LEVELS[finding.severity],
        "message": {"text": _escape(f"{finding.subject}: {finding.message}")},
    }
    if subject is not None:
        primary = _location(repository, subject.file, subject.line, None)
        primary["message"] = {"text": _escape(f"the pipeline stage of `{finding.subject}`")}
        related = {"id": 1, **rule_location, "message": {"text": f"the rule of {finding.control}"}}
        result["locations"] = [primary]
        result["relatedLocations"] = [related]
    elif "physicalLocation" in rule_location:
        result["locations"] = [rule_location]
    else:  # a rule of a bundled pack: at the policy that imports it, the pack's rule related
        result["locations"] = [_location(repository, fallback.file, fallback.line, None)]
        result["relatedLocations"] = [
            {"id": 1, **rule_location, "message": {"text": f"the rule of {finding.control}"}}
        ]
    result["partialFingerprints"] = {FINGERPRINT: fingerprint(finding)}
    if finding.waiver is not None:
        result["suppressions"] = [_suppression(finding.waiver)]
    if state is not None:
        result["baselineState"] = state
    result["properties"] = {
        "kind": finding.kind.value,
        "stage": finding.stage,
        "severity": finding.severity,
        "subject": finding.subject,
        "evidence": [
            {"label": e.label, "value": e.value, "source": e.source} for e in finding.evidence
        ],
    }
    return result


def _suppression(waiver: ir.Waiver) -> Json:
    """A waiver of the policy, as SARIF's record of an accepted, external suppression."""
    where = f"{waiver.location.file}:{waiver.location.line}"
    return {
        "kind": "external",
        "status": "accepted",
        "justification": f"waived by {waiver.owner} until {waiver.expires.isoformat()} "
        f"({where}): {waiver.reason}",
    }


def fingerprint(finding: Finding) -> str:
    """A stable id of the problem: control, subject and kind (never the message's digests)."""
    key = "\0".join((finding.control, finding.subject, finding.kind.value))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _location(repository: str, file: str, line: int | None, column: int | None) -> Json:
    physical: Json = {"artifactLocation": _artifact(repository, file)}
    if line:
        region: Json = {"startLine": line}
        if column:
            region["startColumn"] = column
        physical["region"] = region
    return {"physicalLocation": physical}


def _path(repository: str, file: str) -> str:
    """``file`` (relative to the repository folder, or absolute) as a normalised posix path."""
    if Path(file).is_absolute():
        return Path(file).as_posix()
    joined = PurePosixPath(Path(repository).as_posix()) / file
    return posixpath.normpath(str(joined))


def _artifact(repository: str, file: str) -> Json:
    path = _path(repository, file)
    if PurePosixPath(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


_LINK = re.compile(r"\[([^\[\]]*)\]\(")


def _escape(text: str) -> str:
    """Plain text, except that what SARIF would read as an embedded link (``[text](id)``) has
    its brackets escaped; other brackets stay as they are."""
    return _LINK.sub(r"\\[\1\\](", text)
