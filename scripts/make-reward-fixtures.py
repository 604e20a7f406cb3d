# Writes test/fixtures/reward-cases.json: expected values for test/rl-reward.test.ts computed with
# CPython's difflib and SWE-RL's reward code (bench/reward_difflib.py). Deterministic (seeded).
# Run: python3 scripts/make-reward-fixtures.py
#
# Sections: ratio (SequenceMatcher(None, a, b, autojunk=False).ratio()), diff (SWE-RL's
# generate_unified_diff, autojunk=True lines), reward (full reward of a completion for a task).

import difflib
import json
import os
import random
import sys

# SWE-RL sums similarities over a set; a fixed hash seed makes that order, and so the file, reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, "PYTHONHASHSEED": "0"})

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import reward_difflib as ref  # noqa: E402

rng = random.Random(20250611)

WORDS = ["x", "y", "foo", "bar", "return", "if", "(", ")", "{", "}", "=", "+", "1", "0", "é", "中文", "😀", "𝔘", "naïve", "\t", "  "]
LINES = ["", "}", "    pass", "    return x", "def f(x):", "import os", "x = 1", "# comment", "    if x:", "        y = 2", "print('😀')", "s = 'naïve 中文'", "𝔘𝔫𝔦"]


def rand_text(n_lines: int, pool=LINES) -> str:
    lines = [rng.choice(pool) if rng.random() < 0.7 else " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6))) for _ in range(n_lines)]
    return "\n".join(lines) + ("\n" if rng.random() < 0.85 else "")


def mutate_lines(text: str, k: int) -> str:
    lines = text.split("\n")
    for _ in range(k):
        op = rng.random()
        i = rng.randrange(len(lines) + 1)
        if op < 0.35 and i < len(lines):
            lines[i] = lines[i] + " " + rng.choice(WORDS)
        elif op < 0.6:
            lines.insert(i, rng.choice(LINES))
        elif i < len(lines) and len(lines) > 1:
            del lines[i]
    return "\n".join(lines)


def rand_chars(n: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# ---- ratio cases ----
ratio_pairs = [
    ("identical", "abc", "abc"),
    ("both empty", "", ""),
    ("one empty", "", "abc"),
    ("other empty", "abc", ""),
    ("disjoint", "abc", "xyz"),
    ("shifted", "abcd", "bcde"),
    ("docs example", " abcd", "abcd abcd"),
    ("tie abab/baba", "abab", "baba"),
    ("tie aaa/aaaa", "aaa", "aaaa"),
    ("tie abcabc/cabcab", "abcabc", "cabcab"),
    ("tie xaaay/aayaax", "xaaay", "aayaax"),
    ("tie many equal blocks", "ab" * 20 + "c", "c" + "ba" * 20),
    ("repeated a vs b tail", "a" * 500, "a" * 499 + "b"),
    ("repeated runs", "aaabbbaaabbb" * 30, "bbbaaabbbaaa" * 29),
    ("bmp accents", "héllo wörld", "hello world"),
    ("cjk", "中文字符串测试", "中文符号测试串"),
    ("astral", "😀😁😂", "😁😂😃"),
    ("astral shared high surrogate", "😀", "😁"),
    ("astral in ascii", "a😀b😀c", "a😁b😀c"),
    ("math alphanumerics", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝔘𝔫𝔦𝔳𝔢𝔯𝔰𝔢"),
    ("lone surrogates", "\ud800x\udc00", "\ud800y\udc00"),
    ("crlf", "a\r\nb\r\nc", "a\nb\r\nc"),
    ("small alphabet long", rand_chars(300, "ab"), rand_chars(280, "ab")),
    ("code alphabet long", rand_chars(1500, "abc \n(){}"), rand_chars(1400, "abc \n(){}")),
    ("unicode alphabet", rand_chars(600, "aé中😀𝔘 \n"), rand_chars(650, "aé中😀𝔘 \n")),
]
# Real unified diffs of random code edits, as the reward compares them.
for k in range(8):
    old = rand_text(rng.randint(5, 60))
    a = ref.generate_unified_diff(old, mutate_lines(old, rng.randint(1, 6)))
    b = ref.generate_unified_diff(old, mutate_lines(old, rng.randint(1, 6)))
    ratio_pairs.append((f"real diffs {k}", a, b))

ratio_cases = [dict(name=n, a=a, b=b, ratio=ref.ratio(a, b)) for n, a, b in ratio_pairs]
# autojunk=False must matter somewhere, or the cases would not tell the two apart.
assert any(difflib.SequenceMatcher(None, c["a"], c["b"]).ratio() != c["ratio"] for c in ratio_cases)

# ---- diff cases ----
big_old = "\n".join(rng.choice(["", "}", "    pass", "    return x", f"x{i} = {i}"]) for i in range(400)) + "\n"
diff_pairs = [
    ("equal", "a\nb\n", "a\nb\n"),
    ("one line", "a\nb\nc\n", "a\nB\nc\n"),
    ("insert at start", "a\nb\n", "z\na\nb\n"),
    ("insert at end", "a\nb\n", "a\nb\nz\n"),
    ("delete all", "a\nb\nc\n", ""),
    ("added file", "", "a\nb\n"),
    ("final newline only", "a\nb", "a\nb\n"),
    ("crlf and cr", "a\r\nb\rc\x0cd\u2028e\n", "a\nb\nc\nd\ne\nf\n"),
    ("gap of 6 keeps one hunk", "\n".join("abcdefghijklmnop"), "\n".join("Abcdefghijklmnop".replace("h", "H"))),
    ("gap of 7 splits hunks", "\n".join("abcdefghijklmnop"), "\n".join("Abcdefghijklmnop".replace("i", "I"))),
    ("big file, popular lines (autojunk)", big_old, mutate_lines(big_old, 12)),
    ("big file, many edits", big_old, mutate_lines(big_old, 60)),
]
for k in range(10):
    old = rand_text(rng.randint(0, 80))
    diff_pairs.append((f"random {k}", old, mutate_lines(old, rng.randint(0, 8))))
diff_cases = [dict(name=n, old=o, new=w, diff=ref.generate_unified_diff(o, w)) for n, o, w in diff_pairs]
assert len(difflib.SequenceMatcher(None, big_old.splitlines(), mutate_lines(big_old, 1).splitlines()).bpopular) > 0

# ---- reward cases ----


def task(tid, changes, context=()):
    return dict(
        id=tid, repo="r", base="0", source="synthetic", text="fix it",
        changes=[dict(path=p, old=o, new=n) for p, o, n in changes],
        context=[dict(path=p, content=c, reason="bm25") for p, c in context],
        stats=dict(added=1, removed=1, files=len(changes), hunks=1, promptTokens=0, language="python"),
    )


def block(path, search, replace, fence=False):
    b = f"### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"
    return f"```python\n{b}\n```" if fence else b


def sol(*blocks, think=None):
    pre = f"<think>\n{think}\n</think>\n" if think is not None else ""
    return pre + "<solution>\n" + "\n".join(blocks) + "\n</solution>"


PY = "import os\n\n\ndef add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"
PY_NEW = PY.replace("return a - b", "return a + b").replace("return a + b\n\n\nprint", "return a * b\n\n\nprint")
UTIL = "def helper():\n    return 42\n"
T1 = task("t1", [("src/calc.py", PY, PY_NEW)], [("src/util.py", UTIL)])
fix_add = block("src/calc.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b")
fix_mul = block("src/calc.py", "def mul(a, b):\n    return a + b", "def mul(a, b):\n    return a * b")

README = "# Title\n\nSome text.\n"
T2 = task("t2", [
    ("pkg/a.py", "x = 1\ny = 2\n", "x = 1\ny = 3\n"),
    ("pkg/new.py", None, "def new():\n    pass\n"),
    ("pkg/old.py", "gone = True\n", None),
], [("README.md", README)])

UNI = "s = 'naïve'\nt = '😀 smile'\nu = '𝔘𝔫𝔦'\n"
T3 = task("t3", [("u.py", UNI, UNI.replace("😀 smile", "😁 grin").replace("𝔘𝔫𝔦", "𝔘𝔫𝔦𝔠"))])

named = [
    ("oracle two blocks", T1, sol(fix_add, fix_mul), "search_replace"),
    ("oracle with think", T1, sol(fix_add, fix_mul, think="Both ops are wrong."), "search_replace"),
    ("oracle fenced", T1, sol(block("src/calc.py", "    return a - b", "    return a + b", True), fix_mul.replace("### ", "```\n### ", 1) + "\n```"), "search_replace"),
    ("no tags at all", T1, fix_add + "\n" + fix_mul, "search_replace"),
    ("one of two hunks", T1, sol(fix_add), "search_replace"),
    ("wrong edit", T1, sol(block("src/calc.py", "print(add(1, 2))", "print(add(2, 2))")), "search_replace"),
    ("edits a context file too", T1, sol(fix_add, fix_mul, block("src/util.py", "    return 42", "    return 43")), "search_replace"),
    ("only a context file", T1, sol(block("src/util.py", "    return 42", "    return 43")), "search_replace"),
    ("replace-all semantics", T1, sol(block("src/calc.py", "", "# x")), "search_replace"),
    ("blocks cancel out", T1, sol(block("src/calc.py", "import os", "import sys"), block("src/calc.py", "import sys", "import os")), "search_replace"),
    ("prose around blocks", T1, "Here is the fix:\n" + sol(fix_add) + "\nDone.", "search_replace"),
    ("empty think", T1, "<think>  \n</think>\n" + sol(fix_add), "search_replace"),
    ("two solutions", T1, sol(fix_add) + sol(fix_mul), "search_replace"),
    ("unpaired solution", T1, "<solution>\n" + fix_add, "search_replace"),
    ("think after end tag", T1, "</think>" + sol(fix_add) + "<think>x", "search_replace"),
    ("no block", T1, sol("just prose"), "search_replace"),
    ("search equals replace", T1, sol(block("src/calc.py", "import os", "import os")), "search_replace"),
    ("search not found", T1, sol(block("src/calc.py", "import sys", "import os")), "search_replace"),
    ("absolute path", T1, sol(block("/etc/passwd", "root", "x")), "search_replace"),
    ("dotdot path", T1, sol(block("src/../src/calc.py", "import os", "import sys")), "search_replace"),
    ("unknown path", T1, sol(block("src/other.py", "import os", "import sys")), "search_replace"),
    ("multi-file oracle", T2, sol(block("pkg/a.py", "y = 2", "y = 3"), block("pkg/new.py", "", "def new():\n    pass\n"), block("pkg/old.py", "gone = True\n", "")), "search_replace"),
    ("multi-file, one file missing", T2, sol(block("pkg/a.py", "y = 2", "y = 3")), "search_replace"),
    ("multi-file, new file without final newline", T2, sol(block("pkg/a.py", "y = 2", "y = 3"), block("pkg/new.py", "", "def new():\n    pass")), "search_replace"),
    ("unicode partial", T3, sol(block("u.py", "t = '😀 smile'", "t = '😁 smile'")), "search_replace"),
    ("unicode exact", T3, sol(block("u.py", "t = '😀 smile'\nu = '𝔘𝔫𝔦'", "t = '😁 grin'\nu = '𝔘𝔫𝔦𝔠'")), "search_replace"),
    ("whole file oracle", T1, sol(f"### src/calc.py\n```python\n{PY_NEW[:-1]}\n```"), "whole_file"),
    ("whole file unfenced", T1, sol(f"### src/calc.py\n{PY_NEW}\n\n"), "whole_file"),
    ("whole file partial", T1, sol(f"### src/calc.py\n```\n{PY_NEW[:-1].replace('a * b', 'a ** b')}\n```"), "whole_file"),
    ("whole file multi", T2, sol("### pkg/a.py\n```\nx = 1\ny = 3\n```", "### pkg/old.py\n```\n```", "### pkg/new.py\ndef new():\n    pass"), "whole_file"),
    ("whole file unknown path", T1, sol("### src/nope.py\n```\nx\n```"), "whole_file"),
    ("whole file twice", T1, sol("### src/util.py\n```\nx\n```", "### src/util.py\n```\ny\n```"), "whole_file"),
    ("whole file unclosed fence", T1, sol("### src/calc.py\n```\nx\n"), "whole_file"),
    ("whole file nothing", T1, sol("no files here"), "whole_file"),
]

# Random tasks with mutated completions: SEARCH taken from the old file (so usually found), REPLACE
# from the new file or noise; some with corrupted syntax.
random_cases = []
for k in range(40):
    n_files = rng.randint(1, 3)
    changes = []
    for f in range(n_files):
        old = rand_text(rng.randint(1, 40))
        changes.append((f"f{f}.py", old, mutate_lines(old, rng.randint(1, 5))))
    t = task(f"r{k}", changes, [("ctx.py", rand_text(5))])
    blocks = []
    for _ in range(rng.randint(1, 4)):
        p, old, new = rng.choice(changes)
        lines = old.split("\n")
        i = rng.randrange(len(lines))
        j = min(len(lines), i + rng.randint(1, 4))
        search = "\n".join(lines[i:j])
        nl = new.split("\n")
        replace = "\n".join(nl[i:j + rng.randint(-1, 2)]) if rng.random() < 0.7 else rand_text(rng.randint(0, 3))
        blocks.append(block(p, search, replace, fence=rng.random() < 0.3))
    text = sol(*blocks, think="t" if rng.random() < 0.3 else None)
    r = rng.random()
    if r < 0.1:
        text = text.replace("=======", "======", 1)
    elif r < 0.15:
        text = text.replace("<solution>", "<solution><solution>")
    random_cases.append((f"random {k}", t, text, "search_replace"))
for k in range(12):
    old = rand_text(rng.randint(1, 30))
    t = task(f"w{k}", [("a.py", old, mutate_lines(old, 3)), ("b.py", None, rand_text(3))], [("ctx.py", rand_text(4))])
    sections = []
    for p, o, n in [(c["path"], c["old"], c["new"]) for c in t["changes"]] + [("ctx.py", None, "x\n")]:
        if rng.random() < 0.7:
            body = mutate_lines(n, rng.randint(0, 2)) if rng.random() < 0.6 else n
            sections.append(f"### {p}\n```\n{body}\n```" if rng.random() < 0.7 else f"### {p}\n{body}")
    random_cases.append((f"random whole file {k}", t, sol(*sections), "whole_file"))

reward_cases = []
for name, t, completion, mode in named + random_cases:
    r = ref.score(t, completion, mode)
    reward_cases.append(dict(
        name=name, task=t, completion=completion, mode=mode, reward=r["reward"], formatOk=r["formatOk"],
        exact=r["exact"], files={s["path"]: s["similarity"] for s in sorted(r["files"], key=lambda s: s["path"])},
    ))

out = os.path.join(HERE, "..", "test", "fixtures", "reward-cases.json")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    json.dump(dict(ratio=ratio_cases, diff=diff_cases, reward=reward_cases), f, indent=1)
    f.write("\n")
n_ok = sum(c["formatOk"] for c in reward_cases)
print(f"{out}: {len(ratio_cases)} ratio, {len(diff_cases)} diff, {len(reward_cases)} reward cases ({n_ok} format-valid)")
