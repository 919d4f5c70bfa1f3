"""Backend settings: the shipped configs/backend.yaml, strict keys, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_serve_config_shipped_file_validates_and_says_how_to_run():
    from argmine.serve.config import load_backend_config

    path = REPO / "configs" / "backend.yaml"
    assert path.read_text().startswith("# ")
    assert "argmine serve --model" in path.read_text()
    config = load_backend_config(path)
    assert config.retrain.dev_tasks >= 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("retrain:\n  evry: 3\n", "retrain.evry: unknown key"),
        (
            "retrain:\n  dev_tasks: 5\n",
            "retrain.dev_tasks: Input should be greater than or equal to 10",
        ),
        ("max_batch_articles: 0\n", "max_batch_articles:"),
    ],
)
def test_serve_config_bad_keys_fail_with_one_line(tmp_path, text, expected):
    from argmine.errors import ConfigError
    from argmine.serve.config import load_backend_config

    path = tmp_path / "backend.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_backend_config(path)
    assert str(info.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(info.value)


def test_serve_config_secrets_come_in_pairs_and_stay_out_of_reprs():
    from argmine.errors import ConfigError
    from argmine.serve.config import Secrets

    secrets = Secrets.from_env(
        {
            "ARGMINE_BACKEND_USER": "u",
            "ARGMINE_BACKEND_PASSWORD": "p4ss",
            "ARGMINE_WEBHOOK_SECRET": "s3cr",
        }
    )
    assert secrets.basic == ("u", "p4ss")
    assert "p4ss" not in repr(secrets) and "s3cr" not in repr(secrets)
    with pytest.raises(
        ConfigError, match="set both ARGMINE_BACKEND_USER and ARGMINE_BACKEND_PASSWORD"
    ):
        Secrets.from_env({"ARGMINE_BACKEND_USER": "u"})
