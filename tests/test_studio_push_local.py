"""Pairing articles with predictions and ordering by uncertainty (no server needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import ArgUnit, Article
from argmine.errors import InputError
from argmine.studio.push import pair_predictions, push_articles, uncertainty

TEXT = "Taxes must rise. The deficit hit 5% in 2023."


def _pred(scores, article_id="a1", text=TEXT):
    units = [
        ArgUnit(f"T{i + 1}", 0 + 17 * i, 15 + 17 * i, "Claim", s) for i, s in enumerate(scores)
    ]
    return Article(id=article_id, text=text, units=units)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [((0.2, 0.4), 0.7), ((0.9,), 0.1), ((), 1.0), ((None,), 1.0)],
)
def test_studio_push_uncertainty_is_one_minus_mean_score(scores, expected):
    assert uncertainty(_pred(scores)) == pytest.approx(expected)


def test_studio_push_predictions_alone_become_articles_without_units():
    pairs = pair_predictions([], [_pred((0.5,))])
    assert [(a.id, a.units, p.units[0].score) for a, p in pairs] == [("a1", [], 0.5)]


def test_studio_push_prediction_for_other_text_is_refused():
    article = Article(id="a1", text=TEXT)
    with pytest.raises(InputError, match="a1: text differs"):
        pair_predictions([article], [_pred((0.5,), text=TEXT + " More.")])


def test_studio_push_article_without_prediction_is_warned(caplog):
    pairs = pair_predictions([Article(id="b2", text="Other.")], [_pred((0.5,))])
    assert pairs[0][1] is None
    assert "b2 has no predictions" in caplog.text


def test_studio_push_bad_order_is_refused():
    with pytest.raises(ValueError, match="order must be one of"):
        push_articles([], connection=None, order="random")  # type: ignore[arg-type]


def test_studio_push_cli_needs_articles_or_predictions(tmp_path):
    result = CliRunner().invoke(
        app, ["studio", "push", "--url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == "error[E010]: push: give articles to push, or --predictions FILE\n"


def test_studio_push_unreachable_server_is_one_line(tmp_path, reference_path):
    result = CliRunner().invoke(
        app, ["studio", "push", str(reference_path), "--url", "http://127.0.0.1:9", "--token", "t"]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error[E050]: ")
    assert "Label Studio at http://127.0.0.1:9" in lines[0]
