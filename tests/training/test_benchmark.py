"""`shopfusion benchmark` on a hand-made 5-user sequence file, from ingest to the table."""

import json

import numpy as np
from typer.testing import CliRunner

from shopfusion.cli import app
from shopfusion.training.data import leave_last_out
from shopfusion.training.evaluate import interacted_in, negatives_for
from shopfusion.training.stage import TrainPaths, load_dataset
from tests.training.conftest import fast

SEQUENCES = {  # user -> items in time order; the last is the test item, the one before validates
    "a": [1, 2, 3, 4, 5, 6], "b": [2, 3, 4, 5, 7], "c": [1, 3, 5, 7, 9, 11],
    "d": [4, 5, 6, 7, 8], "e": [2, 4, 6, 8, 10, 12],
}


def test_the_paper_protocol_from_a_sequence_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seq.txt").write_text("".join(f"{u} {' '.join(map(str, s))}\n" for u, s in SEQUENCES.items()))
    items = "item_id,title,category\n" + "".join(f"{i},Item {i},C{i % 3}\n" for i in range(1, 151))
    (tmp_path / "items.csv").write_text(items)  # 150 items: enough never-interacted ones to sample
    cli = CliRunner()
    for args in (["ingest", "--source", "interactions", "--path", "seq.txt", "--items", "items.csv"],
                 ["validate"]):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output

    data = load_dataset(TrainPaths())
    ids = np.asarray(data.item_ids)
    test, valid = (leave_last_out(data, 50, held=held) for held in (1, 2))
    users = np.asarray(data.user_ids)[test.users]
    assert sorted(users) == sorted(SEQUENCES)
    assert [ids[t] for t in test.targets] == [str(SEQUENCES[u][-1]) for u in users]
    assert [ids[t] for t in valid.targets] == [str(SEQUENCES[u][-2]) for u in users]
    negatives = negatives_for(test, data, fast(sampled_negatives=100))
    for row, seen in zip(negatives, interacted_in(data.interactions, test.users)):
        assert len(set(row)) == 100 and not set(row) & set(seen)

    result = cli.invoke(app, ["benchmark", "--eval", "sampled100", "--models", "popularity,itemknn,mf",
                              "--max-epochs", "4", "--patience", "1"])
    assert result.exit_code == 0, result.output
    name = json.loads(result.output)["dataset"]
    report = json.loads((tmp_path / "reports/benchmark" / f"{name}.json").read_text())
    assert report["protocol"]["test_users"] == 5 and set(report["models"]) == {"popularity", "itemknn", "mf"}
    assert 1 <= report["epochs_used"]["mf"] <= 4  # chosen on the validation items
    table = (tmp_path / "reports/benchmark" / f"{name}.md").read_text()
    assert "| popularity |" in table and "| fusion: weighted |" in table and "sampled100" in table

    bad = cli.invoke(app, ["benchmark", "--eval", "sampled7"])
    assert bad.exit_code == 1 and "sampled100" in bad.output
