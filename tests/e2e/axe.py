"""axe-core in the browser tests: run on a page, findings collected page after page.

axe-core comes from node_modules (package.json pins it; `npm ci` installs it, `make test`
runs that). The pages' CSP (script-src 'self') blocks Playwright's add_script_tag(content=),
so axe's source is run with page.evaluate: the pages keep their real CSP while checked.
"""

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def read_axe_source() -> str:
    """axe-core's source; missing node_modules is a failure, never a skip."""
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `npm ci` (make test does)"
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page, axe_source: str) -> list[dict]:
    """Run axe-core on the page as it is now: the WCAG 2.1 A and AA violations."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return {
                passes: results.passes.length,
                violations: results.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html,
                                              summary: n.failureSummary})),
                })),
            };
        }""",
        WCAG_21_AA,
    )
    assert results["passes"] > 0, "axe checked nothing: was it injected?"
    return results["violations"]


def describe(found: dict[str, list[dict]]) -> str:
    """The violations per page, readable in a test failure."""
    lines = []
    for name, violations in found.items():
        for violation in violations:
            lines.append(f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {node['target']}: {node['html'][:160]}")
                lines.append(f"      {node['summary']}".replace("\n", " "))
    return "\n".join(lines)


class AxeRun:
    """Collects axe's findings page after page, to report them all at once."""

    def __init__(self, page: Page, axe_source: str):
        self.page, self.axe_source = page, axe_source
        self.found: dict[str, list[dict]] = {}
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.checked.append(name)
        violations = axe_violations(self.page, self.axe_source)
        if violations:
            self.found[name] = violations

    def visit(self, name: str, path: str, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == status, (name, response)
        self.check(name)

    def assert_clean(self) -> None:
        assert self.found == {}, "axe found violations:\n" + describe(self.found)
