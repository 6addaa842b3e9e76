import json

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_eval_json_reports_float_fake_quant_and_integer_accuracy(tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text(json.dumps({"default": {"weight_sparsity": 0.5}}))
    result = runner.invoke(app, ["eval", "digits-mlp", "--candidate", str(candidate), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["integer_agreement"] == 1.0
    assert report["quantized_metrics"]["accuracy"] >= report["float_metrics"]["accuracy"] - 0.01
    assert report["layers"]["fc2"]["measured_weight_sparsity"] >= 0.5


def test_eval_with_bad_candidate_names_file_and_field(tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text(json.dumps({"default": {"w_bits": 40}}))
    result = runner.invoke(app, ["eval", "digits-mlp", "--candidate", str(candidate)])
    assert result.exit_code == 2
    assert f"{candidate}: default.w_bits" in result.output.replace("\n", "")


def test_eval_with_unknown_model_lists_the_zoo(tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text("{}")
    result = runner.invoke(app, ["eval", "lenet-9", "--candidate", str(candidate)])
    assert result.exit_code == 2 and "digits-mlp" in result.output
