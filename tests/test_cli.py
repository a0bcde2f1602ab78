"""The command line: options, config files, and one-line errors that write nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from archiver.cli.crawl import gather_options
from archiver.cli.main import build_parser, main
from archiver.cli.options import parse_size, to_settings
from archiver.model.errors import ConfigError
from archiver.web.addresses import ResolveRule, parse_rules


def _options(argv: list[str]) -> dict:
    parsed: argparse.Namespace = build_parser().parse_args(argv)
    return gather_options(parsed)


def test_config_file_values_apply_and_the_command_line_wins(tmp_path: Path):
    config = tmp_path / "site.toml"
    config.write_text(
        'seeds = ["http://a.test/x/"]\noutput = "out"\nmax_pages = 7\n'
        'exclude = "\\\\.pdf$"\nrobots = "ignore"\nwarc-size = "500M"\n'
    )
    settings = to_settings(_options(["crawl", "--config", str(config), "--max-pages", "3"]))
    assert settings["ARCHIVER_SEEDS"] == ["http://a.test/x/"]
    assert settings["ARCHIVER_MAX_PAGES"] == 3
    assert settings["ARCHIVER_EXCLUDE"] == ["\\.pdf$"]
    assert settings["ARCHIVER_ROBOTS"] == "ignore"
    assert settings["ARCHIVER_WARC_SIZE"] == 500_000_000


def test_concurrency_sets_both_scrapy_limits():
    settings = to_settings(_options(["crawl", "http://a.test/", "--concurrency", "3"]))
    assert settings["CONCURRENT_REQUESTS"] == settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 3


@pytest.mark.parametrize(
    ("text", "size"), [("1000", 1000), ("1G", 10**9), ("2GiB", 2 * 1024**3), ("500 MB", 5 * 10**8)]
)
def test_sizes(text: str, size: int):
    assert parse_size(text) == size


def test_resolve_rules_are_curl_shaped():
    assert parse_rules(["Sample.Test:8000:127.0.0.1", "v6.test:443:[::1]"]) == {
        ("sample.test", 8000): "127.0.0.1",
        ("v6.test", 443): "::1",
    }
    for bad in ("sample.test:8000", "sample.test:port:127.0.0.1", "sample.test:80:not-an-ip"):
        with pytest.raises(ConfigError):
            ResolveRule.parse(bad)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["crawl", "http://a.test/"], "--output"),
        (["crawl", "--output", "OUT"], "no seed"),
        (["crawl", "ftp://a.test/", "--output", "OUT"], "not an http(s) URL"),
        (
            ["crawl", "http://a.test/", "--output", "OUT", "--resolve", "a.test:80"],
            "HOST:PORT:ADDR",
        ),
        (["crawl", "http://a.test/", "--output", "OUT", "--exclude", "("], "regular expression"),
        (["crawl", "http://a.test/", "--output", "OUT", "--max-pages", "many"], "whole number"),
        (["crawl", "http://a.test/", "--output", "OUT", "--robots", "maybe"], "obey"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_malformed_toml_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("seeds = [\n")
    assert main(["crawl", "--config", "bad.toml"]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    (tmp_path / "bad.toml").write_text('seedz = ["http://a.test/"]\n')
    assert main(["crawl", "--config", "bad.toml"]) == 2
    assert "unknown key 'seedz'" in capsys.readouterr().err


def test_importing_archiver_keeps_tldextract_offline():
    import os

    import archiver  # noqa: F401

    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""


def test_under_make_test_nothing_can_leave_loopback():
    """make test runs inside a network namespace whose only interface is loopback."""
    import os
    import socket

    if os.environ.get("ARCHIVER_TEST_NETNS") != "1":
        pytest.skip("not started by tests/isolated.sh in a network namespace")
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
