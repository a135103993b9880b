"""The demo is a development tool: `mlc-dev demo`, not a verb of the shipped `mlc`."""

from __future__ import annotations

import pytest
from mlc_cli.main import build_parser as mlc_parser
from mlc_devtools.main import build_parser


def test_mlc_dev_has_the_demo() -> None:
    args = build_parser().parse_args(["demo", "--customers", "30", "--duration", "5"])
    assert callable(args.handler) and args.customers == 30 and args.duration == 5


def test_the_shipped_mlc_has_no_demo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        mlc_parser().parse_args(["demo"])
    assert "invalid choice: 'demo'" in capsys.readouterr().err
