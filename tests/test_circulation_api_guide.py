"""The API guide's circulation examples run as written against a fresh demo (as in GraphiQL)."""

import re
from pathlib import Path

from app.demo import DEMO_PATRONS, DEMO_STAFF, load_demo

API_GUIDE = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _operations(block: str) -> list[str]:
    """Split a GraphQL code block into its top-level operations."""
    operations, depth, current = [], 0, []
    for line in block.splitlines():
        current.append(line)
        code = line.split("#")[0]
        depth += code.count("{") - code.count("}")
        # Comment lines belong to the operation they precede or follow, never stand alone.
        if depth == 0 and "".join(part.split("#")[0] for part in current).strip():
            operations.append("\n".join(current))
            current = []
    return operations


def _examples() -> tuple[list[str], list[str]]:
    text = API_GUIDE.read_text(encoding="utf-8")
    start = text.index("## Circulation")
    section = text[start:text.index("\n## ", start)]
    patron_part, staff_part = section.split("### At the desk", 1)
    blocks = lambda part: [op for b in re.findall(r"```graphql\n(.*?)```", part, re.S) for op in _operations(b)]
    return blocks(patron_part), blocks(staff_part)


async def test_every_circulation_example_in_the_api_guide_works_on_the_demo(client, other_client, deps):
    assert await load_demo(deps, titles=300)
    patron_ops, staff_ops = _examples()
    assert len(patron_ops) == 7 and len(staff_ops) == 4
    await client.login(DEMO_PATRONS[0].card_number, DEMO_PATRONS[0].password)
    username, password, _ = DEMO_STAFF[0]
    await other_client.staff_login(username, password)

    for who, operations in ((client, patron_ops), (other_client, staff_ops)):
        for operation in operations:
            data = await who.query(operation)
            for name, payload in data.items():
                if isinstance(payload, dict) and "errors" in payload:
                    assert payload["errors"] == [], (operation, payload)
