"""Schema governance for CI: `schema.graphql` is the code's schema, and it breaks no client.

1. The committed `schema.graphql` must equal the schema exported from the code, and
   `possible-types.json` (which object types each interface or union stands for, in the shape of
   Apollo Client's `possibleTypes` option) must equal the one derived from that schema.
   `--write` exports both from the code first.
2. Compared with `schema.graphql` at the base commit (`--base`, else `$SCHEMA_BASE`, else
   `HEAD~1`: the previous commit on main), it may not have a breaking change (graphql-core's
   `find_breaking_changes`: a removed field or type, a changed type, a new required argument…)
   unless `schema-changes.md` has a row naming that change, as printed here, with a reason.
   Dangerous changes (e.g. a new enum value) are printed as warnings.
No base (first commit, shallow clone, no schema.graphql there yet) means nothing to compare.

    python scripts/check_schema.py [--write] [--base origin/main]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    BreakingChange,
    DangerousChange,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    is_abstract_type,
    is_introspection_type,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = "schema.graphql"
POSSIBLE_TYPES_FILE = "possible-types.json"
ALLOW_LIST = "schema-changes.md"
# A table row whose first cell is a back-quoted change description and whose second is a reason.
_ROW = re.compile(r"^\|\s*`(?P<change>[^`]+)`\s*\|\s*(?P<reason>[^|]*?)\s*\|")


@dataclass
class Comparison:
    breaking: list[BreakingChange] = field(default_factory=list)
    dangerous: list[DangerousChange] = field(default_factory=list)
    not_allowed: list[BreakingChange] = field(default_factory=list)
    removed_without_deprecation: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.not_allowed


def parse_allow_list(text: str) -> dict[str, str]:
    """Allowed breaking changes: {description: reason} from the rows of `schema-changes.md`."""
    allowed = {}
    for line in text.splitlines():
        match = _ROW.match(line.strip())
        if match and match["reason"] and not set(match["reason"]) <= {"-", " "}:
            allowed[match["change"].strip()] = match["reason"]
    return allowed


def compare(old_sdl: str, new_sdl: str, allowed: dict[str, str]) -> Comparison:
    """The breaking and dangerous changes from `old_sdl` to `new_sdl`, and those not allowed."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    result = Comparison(find_breaking_changes(old, new), find_dangerous_changes(old, new))
    result.not_allowed = [c for c in result.breaking if c.description not in allowed]
    for change in result.breaking:
        if change.type.name == "FIELD_REMOVED":
            type_name, field_name = _removed_field(change.description)
            type_ = old.get_type(type_name) if type_name else None
            if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) and field_name in type_.fields \
                    and type_.fields[field_name].deprecation_reason is None:
                result.removed_without_deprecation.append(f"{type_name}.{field_name}")
    return result


def _removed_field(description: str) -> tuple[str | None, str | None]:
    match = re.match(r"Field (\w+)\.(\w+) was removed\.", description)
    return (match[1], match[2]) if match else (None, None)


def base_schema(base: str, cwd: Path = ROOT) -> str | None:
    """`schema.graphql` at the base commit, or None if there is no such commit or file."""
    result = subprocess.run(["git", "show", f"{base}:{SCHEMA_FILE}"], cwd=cwd, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def exported_schema() -> str:
    from strawberry.printer import print_schema

    from app.schema import schema

    return print_schema(schema)


def possible_types(schema: GraphQLSchema) -> str:
    """`possible-types.json` for a schema: `{"possibleTypes": {"Node": ["Bookshelf", …]}}`, every
    interface and union with its object types, sorted (what GraphQL Code Generator's
    `fragment-matcher` writes for Apollo Client 3)."""
    abstract = sorted((t for t in schema.type_map.values() if is_abstract_type(t) and not is_introspection_type(t)),
                      key=lambda t: t.name)
    found = {t.name: sorted(p.name for p in schema.get_possible_types(t)) for t in abstract}
    return json.dumps({"possibleTypes": found}, indent=2) + "\n"


def write_exports(root: Path = ROOT) -> None:
    """Export `schema.graphql` and `possible-types.json` from the code."""
    sdl = exported_schema()
    (root / SCHEMA_FILE).write_text(sdl.rstrip("\n") + "\n", encoding="utf-8")
    (root / POSSIBLE_TYPES_FILE).write_text(possible_types(build_schema(sdl)), encoding="utf-8")


def check(root: Path, base: str, *, check_export: bool = True, out=sys.stdout) -> int:
    """Run both checks in a checkout at `root`; 0 when the schema may ship."""
    def say(text: str) -> None:
        print(text, file=out)

    current = (root / SCHEMA_FILE).read_text(encoding="utf-8")
    if check_export:
        possible = root / POSSIBLE_TYPES_FILE
        stale = [name for name, same in (
            (SCHEMA_FILE, exported_schema().strip() == current.strip()),
            (POSSIBLE_TYPES_FILE, possible.exists() and possible.read_text(encoding="utf-8") == possible_types(
                build_schema(current))),
        ) if not same]
        if stale:
            say(f"{' and '.join(stale)} out of date: run `python scripts/check_schema.py --write` and commit.")
            return 1
    previous = base_schema(base, root)
    if previous is None:
        say(f"No {SCHEMA_FILE} at {base}: nothing to compare against.")
        return 0
    allow_file = root / ALLOW_LIST
    allowed = parse_allow_list(allow_file.read_text(encoding="utf-8")) if allow_file.exists() else {}
    result = compare(previous, current, allowed)
    for change in result.dangerous:
        say(f"warning ({change.type.name}): {change.description}")
    for change in result.breaking:
        status = "allowed" if change not in result.not_allowed else "BREAKING"
        reason = f" — {allowed[change.description]}" if status == "allowed" else ""
        say(f"{status} ({change.type.name}): {change.description}{reason}")
    for name in result.removed_without_deprecation:
        say(f"note: {name} was removed without being deprecated first (see the schema policy in docs/api.md).")
    if not result.ok:
        say(f"\n{len(result.not_allowed)} breaking change(s) against {base}. Deprecate instead of removing, "
            f"or, if the break is deliberate, add a row to {ALLOW_LIST}:")
        for change in result.not_allowed:
            say(f"| `{change.description}` | <why, and how clients were told> |")
        return 1
    say(f"{SCHEMA_FILE}: no unannounced breaking change against {base}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check schema.graphql against the code and the base commit.")
    parser.add_argument("--base", default=os.environ.get("SCHEMA_BASE") or "HEAD~1",
                        help="commit to compare with (default: $SCHEMA_BASE or HEAD~1)")
    parser.add_argument("--no-export-check", action="store_true", help="skip comparing with the code")
    parser.add_argument("--write", action="store_true",
                        help=f"export {SCHEMA_FILE} and {POSSIBLE_TYPES_FILE} from the code first")
    args = parser.parse_args(argv)
    if args.write:
        write_exports()
    return check(ROOT, args.base, check_export=not args.no_export_check)


if __name__ == "__main__":
    sys.exit(main())
