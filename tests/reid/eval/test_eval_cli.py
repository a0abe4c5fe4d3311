import json

import numpy as np
from eval_reference import reference_evaluate, vcm_like
from starreid.reid.eval import distance
from starreid.app.cli import main


def test_eval_both_directions_table_plot_and_json(tmp_path, capsys):
    rng = np.random.default_rng(7)
    irf, rgbf, irp, rgbp, irc, rgbc = vcm_like(rng, 80, 120, n_ids=20)
    path = tmp_path / "feats.npz"
    np.savez(path, ir_feats=irf, ir_pids=irp, ir_camids=irc, rgb_feats=rgbf, rgb_pids=rgbp, rgb_camids=rgbc)
    assert main(["eval", "--features", str(path), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "I2V" in out and "V2I" in out and "mINP" in out
    assert (tmp_path / "feats_cmc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = json.loads((tmp_path / "r.json").read_text())
    _, m_ap, _, _ = reference_evaluate(distance(rgbf, irf), rgbp, irp, rgbc, irc)
    assert abs(res["V2I"]["mAP"] - m_ap) < 1e-6
    assert f"{100 * m_ap:.2f}" in out


def test_eval_one_direction_and_missing_keys(tmp_path, capsys):
    rng = np.random.default_rng(8)
    qf, gf, qp, gp, qc, gc = vcm_like(rng, 30, 50, n_ids=10)
    path = tmp_path / "one.npz"
    np.savez(path, query_feats=qf, query_pids=qp, query_camids=qc, gallery_feats=gf, gallery_pids=gp,
             gallery_camids=gc)
    assert main(["eval", "--features", str(path), "--plot", str(tmp_path / "c.png")]) == 0
    assert "query->gallery" in capsys.readouterr().out and (tmp_path / "c.png").is_file()
    bad = tmp_path / "bad.npz"
    np.savez(bad, query_feats=qf, query_pids=qp)
    assert main(["eval", "--features", str(bad)]) == 2
    assert "missing keys" in capsys.readouterr().err
    assert main(["eval", "--features", str(tmp_path / "absent.npz")]) == 2
