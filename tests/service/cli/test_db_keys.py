from typer.testing import CliRunner

from service.cli import app
from tests.utils.databases import sqlite_url

runner = CliRunner()


def test_db_upgrade_then_current(tmp_path):
    url = sqlite_url(tmp_path / "new" / "hwsearch.db")
    result = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["db", "current", "--db", url])
    assert result.exit_code == 0 and "database 0001, code 0001" in result.output


def test_keys_create_list_revoke(db_url):
    created = runner.invoke(
        app, ["keys", "create", "--scope", "read", "--name", "ci", "--db", db_url, "--quiet"]
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip()
    assert secret.startswith("hws_")
    listed = runner.invoke(app, ["keys", "list", "--db", db_url])
    assert "ci" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["keys", "revoke", "1", "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "9", "--db", db_url]).exit_code == 2


def test_keys_refuse_an_unmigrated_database(tmp_path):
    result = runner.invoke(
        app, ["keys", "create", "--scope", "read", "--db", sqlite_url(tmp_path / "empty.db")]
    )
    assert result.exit_code == 2 and "hwsearch db upgrade" in result.output


def test_unknown_scope_is_refused(db_url):
    result = runner.invoke(app, ["keys", "create", "--scope", "admin", "--db", db_url])
    assert result.exit_code == 2


def test_submit_without_a_key_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("HWSEARCH_KEY", raising=False)
    job = tmp_path / "job.toml"
    job.write_text('name = "x"\n')
    result = runner.invoke(app, ["submit", str(job)])
    assert result.exit_code == 2 and "hwsearch keys create" in result.output
