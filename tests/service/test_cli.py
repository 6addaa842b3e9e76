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


def test_sample_prints_text_and_both_validation_losses(tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text(json.dumps({"default": {"weight_sparsity": 0.5}}))
    result = runner.invoke(
        app, ["sample", "char-gpt", "--tokens", "40", "--candidate", str(candidate)]
    )
    assert result.exit_code == 0, result.output
    assert "validation loss: float" in result.output
    assert "validation loss: candidate" in result.output
    text = result.output.split("validation loss")[0].strip()
    assert len(text) >= 30


def test_estimate_json_reports_throughput_and_per_layer_folding(tmp_path):
    candidate = tmp_path / "c.json"
    candidate.write_text(json.dumps({"default": {"weight_sparsity": 0.5, "w_bits": 4}}))
    result = runner.invoke(
        app,
        ["estimate", "digits-mlp", "--candidate", str(candidate), "--device", "xc7a100t", "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["fits"] and report["throughput_fps"] > 0
    assert set(report["folding"]) == {"fc1", "fc2", "fc3"}


def test_export_of_a_stored_trial_rebuilds_it_from_the_database(tmp_path):
    from search.spec import parse_job
    from search.study import run_job

    url = f"sqlite:///{tmp_path / 's.db'}"
    run_job(
        parse_job(
            {
                "name": "exp",
                "model": "digits-mlp",
                "budget": {"n_trials": 2},
                "baselines": {"weight_sparsity": [0.0], "bits": [8]},
            }
        ),
        url,
    )
    out = tmp_path / "bundle"
    result = runner.invoke(
        app,
        [
            "export",
            "--storage",
            url,
            "--study",
            "exp",
            "--trial",
            "0",
            "--out",
            str(out),
            "--samples",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["model"] == "digits-mlp" and "hardware" in metadata
    assert (out / "rtl" / "hws_net.sv").is_file()
