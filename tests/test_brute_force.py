"""The brute-force drill (scripts/brute_force.py), small: the throttle holds, hides which cards
exist, and locks strangers out, not the patron's own browser."""

import io

from scripts.brute_force import print_report, run_in_process


async def test_the_brute_force_drill_shows_the_throttle_holding(settings, clock):
    settings = settings.replace(throttle_ip_failures=12)
    report = await run_in_process(guesses=8, sweep=16, settings=settings, clock=clock)

    assert report.held, report.problems
    assert [a.code for a in report.known] == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"] * 3
    assert report.right_password_after.code == "RATE_LIMITED"
    assert report.own_browser_after.code == "OK"  # the lockout is no weapon against the patron
    assert [a.code for a in report.unknown] == [a.code for a in report.known]
    assert [a.code for a in report.sweep] == ["INVALID_CREDENTIALS"] * 12 + ["RATE_LIMITED"] * 4

    out = io.StringIO()
    print_report(report, out)
    assert "THE THROTTLE HOLDS" in out.getvalue() and "identical answers" in out.getvalue()


async def test_the_drill_reports_a_throttle_that_does_not_hold(settings, clock):
    # A site misconfigured with a huge per-card limit: the drill must say so, not pass quietly.
    report = await run_in_process(guesses=7, sweep=3, settings=settings.replace(throttle_card_failures=100),
                                  clock=clock, card_limit=5)
    assert not report.held
    assert report.problems == ["one card: 7 guesses were checked (limit 5)",
                               "the right password got OK during the lockout"]
    out = io.StringIO()
    print_report(report, out)
    assert "THE THROTTLE DID NOT HOLD" in out.getvalue()
