# The Python reference of pr-rl's reward: SWE-RL's definition (facebookresearch/swe-rl,
# src/swerl/core/reward.py, copied below where marked) run by CPython's difflib, with the same lenient
# front end as src/rl/format.ts (optional <think>/<solution>, optional ``` fences, path checks,
# whole-file mode). scripts/make-reward-fixtures.py imports it for the test fixtures; bench/reward.ts
# runs it as a script:  python3 bench/reward_difflib.py inputs.json  ->  JSON {seconds (fastest of
# `repeat` passes), times, results}.

import difflib
import json
import re
import sys
import time

THINK_START, THINK_END = "<think>", "</think>"
ANSWER_START, ANSWER_END = "<solution>", "</solution>"

# SWE-RL's SEARCH_REPLACE_REGEX with the ``` fence optional and the header at a line start.
BLOCK_RE = re.compile(
    r"(?<![^\n])(?:```[^\n]*\n)?### ([^\n]*)\n<<<<<<< SEARCH\n([\s\S]*?)\n=======\n([\s\S]*?)\n>>>>>>> REPLACE(?:\n```)?(?![^\n])"
)


class FormatError(Exception):
    pass


def extract_answer(output: str) -> str:
    tags = [THINK_START, THINK_END, ANSWER_START, ANSWER_END]
    counts = [output.count(t) for t in tags]
    if any(c > 1 for c in counts):
        raise FormatError("tag appears more than once")
    if counts[0] != counts[1] or counts[2] != counts[3]:
        raise FormatError("unpaired tag")
    rest = output
    if counts[0]:
        s, e = output.index(THINK_START), output.index(THINK_END)
        if e < s:
            raise FormatError("</think> before <think>")
        if len(output[s + len(THINK_START):e].strip()) == 0:
            raise FormatError("Thought is empty")
        rest = output[e + len(THINK_END):]
    if counts[2]:
        s, e = output.index(ANSWER_START), output.index(ANSWER_END)
        if e < s:
            raise FormatError("</solution> before <solution>")
        rest = output[s + len(ANSWER_START):e]
    return rest.strip()


def parse_search_replace(text: str) -> dict:
    # SWE-RL parse_search_replace, with the path stripped.
    d = {}
    for path, search, replace in BLOCK_RE.findall(text):
        d.setdefault(path.strip(), []).append((search, replace))
    return d


def check_path(path: str, code_context: dict) -> None:
    if path.startswith("/") or path.startswith("\\") or re.match(r"[A-Za-z]:", path):
        raise FormatError("absolute path")
    if ".." in re.split(r"[\\/]", path):
        raise FormatError("path contains ..")
    if path not in code_context:
        raise FormatError("not one of the prompt's files")


def keeps_final_newline(old: str) -> bool:
    return old == "" or old.endswith("\n")


def parse_whole_files(answer: str, code_context: dict) -> dict:
    lines = answer.split("\n")
    out = {}
    i = 0
    while i < len(lines):
        if not lines[i].startswith("### "):
            i += 1
            continue
        path = lines[i][4:].strip()
        i += 1
        fence = re.fullmatch(r"(`{3,})[^`]*", lines[i]) if i < len(lines) else None
        body = []
        if fence:
            i += 1
            while i < len(lines) and lines[i] != fence.group(1):
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise FormatError("unclosed fence")
            i += 1
        else:
            while i < len(lines) and not lines[i].startswith("### "):
                body.append(lines[i])
                i += 1
            while body and body[-1].strip() == "":
                body.pop()
        check_path(path, code_context)
        if path in out:
            raise FormatError("file given twice")
        text = "\n".join(body)
        out[path] = "" if not body else text + "\n" if keeps_final_newline(code_context[path]) else text
    if not out:
        raise FormatError("no file section")
    return out


# ---- copied from SWE-RL src/swerl/core/reward.py (unchanged apart from the path check) ----

def generate_unified_diff(old_code: str, new_code: str, n_context: int = 3) -> str:
    original_lines = old_code.splitlines()
    modified_lines = new_code.splitlines()
    diff = difflib.unified_diff(original_lines, modified_lines, fromfile="old", tofile="new", lineterm="", n=n_context)
    try:
        next(diff)
        next(diff)
        return "\n".join(diff)
    except StopIteration:
        return ""


def apply_code_change(code_context: dict, search_replace_dict: dict) -> dict:
    new_content_dict = {}
    for path, search_replaces in search_replace_dict.items():
        check_path(path, code_context)
        new_content = "\n" + code_context.get(path, "")
        for search, replace in search_replaces:
            if len(search) == len(replace) and search == replace:
                raise FormatError("Search and replace blocks are identical")
            search = "\n" + search
            replace = "\n" + replace
            if search not in new_content:
                raise FormatError("Search block not found in the code")
            new_content = new_content.replace(search, replace)
        new_content_dict[path] = new_content[1:]
    return new_content_dict


def get_normalized_patch(code_context: dict, new_content_dict: dict) -> dict:
    patch_dict = {}
    for path, new_content in new_content_dict.items():
        old_content = code_context.get(path, "")
        patch = generate_unified_diff(old_content, new_content)
        if patch:
            patch_dict[path] = patch
    return patch_dict


def compute_change_similarities(pred_patch: dict, oracle_patch: dict) -> list:
    all_file_paths = set(oracle_patch.keys()).union(set(pred_patch.keys()))
    similarities = []
    for path in all_file_paths:
        pred_change = pred_patch.get(path, "")
        oracle_change = oracle_patch.get(path, "")
        if oracle_change == "" or pred_change == "":
            change_similarity = 0.0
        else:
            change_similarity = difflib.SequenceMatcher(None, pred_change, oracle_change, autojunk=False).ratio()
        similarities.append(dict(path=path, similarity=change_similarity))
    return similarities


def calculate_reward(code_context: dict, oracle_new_content: dict, pred_new_content: dict):
    oracle_patch = get_normalized_patch(code_context, oracle_new_content)
    pred_patch = get_normalized_patch(code_context, pred_new_content)
    similarities = compute_change_similarities(pred_patch, oracle_patch)
    if len(similarities) == 0:
        return 1.0, []
    reward = sum(map(lambda x: x["similarity"], similarities)) / len(similarities)
    return reward, similarities

# ---- end of the SWE-RL copy ----


def task_files(task: dict):
    code_context, oracle = {}, {}
    for c in task["changes"]:
        if c["path"] not in code_context:
            code_context[c["path"]] = c["old"] if c["old"] is not None else ""
            oracle[c["path"]] = c["new"] if c["new"] is not None else ""
    for c in task.get("context", []):
        code_context.setdefault(c["path"], c["content"])
    return code_context, oracle


def score(task: dict, output: str, mode: str = "search_replace") -> dict:
    code_context, oracle = task_files(task)
    try:
        answer = extract_answer(output)
        if mode == "whole_file":
            pred = parse_whole_files(answer, code_context)
        else:
            blocks = parse_search_replace(answer)
            if len(blocks) == 0:
                raise FormatError("No valid search blocks found")
            pred = apply_code_change(code_context, blocks)
    except FormatError as e:
        return dict(reward=-1.0, formatOk=False, exact=False, error=str(e), files=[])
    reward, sims = calculate_reward(code_context, oracle, pred)
    exact = all(pred.get(p, code_context[p]) == c for p, c in oracle.items()) and all(
        c == code_context[p] for p, c in pred.items() if p not in oracle
    )
    return dict(reward=reward, formatOk=True, exact=exact, files=sims)


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        inputs = json.load(f)
    tasks, outputs, mode = inputs["tasks"], inputs["outputs"], inputs.get("mode", "search_replace")
    repeat = int(inputs.get("repeat", 1))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = [score(tasks[o["task"]], o["text"], mode) for o in outputs]
        times.append(time.perf_counter() - t0)
    json.dump(dict(seconds=min(times), times=times, results=results), sys.stdout)
