"""Two processes registering and moving aliases at once leave a consistent registry."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from sklearn.linear_model import LinearRegression

WORKER = textwrap.dedent("""
    import random, sys
    import numpy as np
    from sklearn.linear_model import LinearRegression
    import kernel_magics as kb
    home, who, moves = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lh = kb.connect(home)
    X = np.arange(20.0).reshape(10, 2)
    m = LinearRegression().fit(X, X[:, 0])
    mine = [lh.registry.register(m, "shared", lineage={"who": who}).version for _ in range(3)]
    rng = random.Random(who)
    for i in range(moves):
        live = [v.version for v in lh.registry.versions("shared")]
        lh.registry.set_alias("shared", "production", rng.choice(live), who=who)
    print(",".join(map(str, mine)))
""")


def test_two_processes_register_and_move_aliases(lh, tmp_path):
    import numpy as np
    X = np.arange(20.0).reshape(10, 2)
    lh.registry.register(LinearRegression().fit(X, X[:, 0]), "shared")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    moves = 25
    procs = [subprocess.Popen([sys.executable, str(script), str(lh.home), who, str(moves)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("p1", "p2")]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]

    # versions: 1 from here, 3 from each process, all distinct and consecutive
    got = sorted(int(v) for out, _ in outs for v in out.strip().split(","))
    assert got == [2, 3, 4, 5, 6, 7]
    versions = [v.version for v in lh.registry.versions("shared")]
    assert versions == [1, 2, 3, 4, 5, 6, 7]
    for v in versions:
        assert (lh.models_dir / "shared" / str(v) / "model.skops").exists()

    # aliases: every move recorded, each one starting where the previous one ended
    history = lh.registry.alias_history("shared", "production")
    assert len(history) == 2 * moves
    assert sorted(h["who"] for h in history) == ["p1"] * moves + ["p2"] * moves
    previous = None
    for h in history:
        assert h["from_version"] == previous
        previous = h["to_version"]
    final = lh.registry.get("shared", alias="production")
    assert final.version == previous and final.version in versions
