"""Each run records its environment: requirements.txt (installed distributions), Python, platform.

`gitcfg diff --env` compares them; `gitcfg checkout` writes the list beside the config.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    commit_script,
    git,
    read_branch_file,
    run_python,
    runs_branch_files,
    write_script,
)

from gitcfg.environment import (
    canonical_name,
    installed_requirements,
    parse_requirements,
)
from gitcfg.store import run_dir

TRAIN = """
import gitcfg
run = gitcfg.track({"lr": 0.1})
run.log({"loss": 1.0})
run.finish()
print(run.id)
"""


def make_dist(site: Path, name: str, version: str, editable: bool = False) -> Path:
    """A distribution as pip installs it: `<name>-<version>.dist-info/METADATA`."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA long description.\nName: x\n"
    )
    if editable:
        (info / "direct_url.json").write_text(
            json.dumps({"url": "file:///src/proj", "dir_info": {"editable": True}})
        )
    return info


def record(cwd: Path, site: Path | None = None, script: str = "train.py") -> str:
    env = {"PYTHONPATH": os.pathsep.join([os.environ["PYTHONPATH"], str(site)])} if site else None
    proc = run_python(cwd, script, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def project(repo: Path) -> Path:
    commit_script(repo, "train.py", TRAIN)
    return repo


def requirements_entry(repo: Path, run_id: str) -> tuple[str, str]:
    """(blob id, path) of the run's requirements.txt on the runs branch."""
    line = git(repo, "ls-tree", "-r", "gitcfg-runs", f"{run_dir(run_id)}/requirements.txt")
    meta, path = line.split("\t")
    return meta.split()[2], path


# --- the list ------------------------------------------------------------------------------------


def test_the_list_is_sorted_name_equals_version_as_importlib_metadata_sees_it(tmp_path) -> None:
    text = installed_requirements(tmp_path / "cache").decode()
    lines = text.splitlines()
    assert lines == sorted(lines, key=lambda ln: canonical_name(ln.split("==")[0].split(" ")[-1]))
    packages = parse_requirements(text)
    assert packages["pyyaml"] == importlib.metadata.version("PyYAML")
    assert packages["pytest"] == importlib.metadata.version("pytest")
    assert f"PyYAML=={importlib.metadata.version('PyYAML')}" in lines  # the name as published
    assert all("==" in line for line in lines)


def capture_in_new_process(site: Path, cache: Path) -> str:
    """installed_requirements() in a new interpreter with `site` on its path, as track() runs it."""
    code = "import sys; from pathlib import Path; from gitcfg.environment import installed_requirements"
    code += "; sys.stdout.write(installed_requirements(Path(sys.argv[1])).decode())"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ["PYTHONPATH"], str(site)]))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(cache)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return proc.stdout


def test_the_cache_is_reused_and_invalidated_when_a_package_is_installed_or_removed(
    tmp_path,
) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    make_dist(site, "alpha-pkg", "1.0")
    first = capture_in_new_process(site, cache)
    assert "alpha-pkg==1.0\n" in first
    (cache_file,) = cache.iterdir()
    cache_file.write_bytes(cache_file.read_bytes() + b"from-the-cache==1\n")
    assert capture_in_new_process(site, cache) == first + "from-the-cache==1\n"  # warm

    make_dist(site, "beta", "2.0")  # pip install beta
    assert "beta==2.0\n" in capture_in_new_process(site, cache)
    info = next(site.glob("alpha_pkg-*"))
    (info / "METADATA").unlink()
    info.rmdir()  # pip uninstall alpha-pkg
    after = capture_in_new_process(site, cache)
    assert "alpha-pkg" not in after and "beta==2.0\n" in after
    assert "from-the-cache" not in after
    assert list(cache.iterdir()) == [cache_file]  # one entry per interpreter, rewritten


def test_an_upgrade_in_the_same_clock_tick_is_seen(tmp_path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    old = make_dist(site, "gamma", "1.0")
    assert "gamma==1.0\n" in capture_in_new_process(site, cache)
    stat = site.stat()
    (old / "METADATA").unlink()
    old.rmdir()
    make_dist(site, "gamma", "1.1")
    os.utime(site, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # a coarse clock: mtime unchanged
    text = capture_in_new_process(site, cache)
    assert "gamma==1.1\n" in text and "gamma==1.0" not in text


def test_editable_installs_are_commented_out_and_broken_metadata_skipped(
    tmp_path, monkeypatch
) -> None:
    site = tmp_path / "site"
    make_dist(site, "my-project", "0.3.0", editable=True)
    broken = site / "broken-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\n\n")  # no Version
    monkeypatch.syspath_prepend(str(site))
    text = installed_requirements(tmp_path / "cache").decode()
    assert "# editable: my-project==0.3.0" in text.splitlines()
    assert "broken" not in text
    assert parse_requirements(text)["my-project"] == "0.3.0 (editable)"


def test_an_unwritable_cache_still_gives_the_list(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert b"PyYAML==" in installed_requirements(blocker / "cache")


def test_parse_requirements_reads_pins_urls_and_comments() -> None:
    text = b"# header\nNumPy==1.26.0\nfoo @ git+https://x/foo@abc\n# editable: bar==1\n\n"
    assert parse_requirements(text) == {
        "numpy": "1.26.0",
        "foo": "git+https://x/foo@abc",
        "bar": "1 (editable)",
    }
    assert canonical_name("Py_YAML.x") == "py-yaml-x"


# --- recorded with each run -------------------------------------------------------------------------


def test_every_run_records_its_requirements_python_and_platform(project: Path) -> None:
    run_a, run_b = record(project), record(project)
    files = runs_branch_files(project)
    for run_id in (run_a, run_b):
        assert f"{run_dir(run_id)}/requirements.txt" in files
    blob_a, path_a = requirements_entry(project, run_a)
    blob_b, _ = requirements_entry(project, run_b)
    assert blob_a == blob_b  # identical lists: one git blob
    text = read_branch_file(project, path_a)
    assert f"PyYAML=={importlib.metadata.version('PyYAML')}" in text.splitlines()
    import yaml

    meta = yaml.safe_load(read_branch_file(project, f"{run_dir(run_a)}/run.yaml"))
    assert meta["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert meta["platform"].startswith(os.uname().sysname)
    assert "rerun_of" not in meta


def test_runs_in_different_environments_record_different_lists(project: Path, tmp_path) -> None:
    site = tmp_path / "site"
    make_dist(site, "extra-pkg", "4.2")
    run_a, run_b = record(project), record(project, site)
    assert requirements_entry(project, run_a)[0] != requirements_entry(project, run_b)[0]
    path_b = requirements_entry(project, run_b)[1]
    assert "extra-pkg==4.2" in read_branch_file(project, path_b).splitlines()


def test_the_warm_capture_reads_no_distribution_metadata(project: Path, tmp_path) -> None:
    # After one run has filled the cache, track() does not import importlib.metadata at all.
    record(project)
    write_script(
        project / "probe.py",
        TRAIN.replace(
            "print(run.id)", "import sys; print('importlib.metadata' in sys.modules)\nprint(run.id)"
        ),
    )
    proc = run_python(project, "probe.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "False"


# --- diff --env -----------------------------------------------------------------------------------


@pytest.fixture
def two_environments(project: Path, tmp_path) -> tuple[Path, str, str]:
    site_a, site_b = tmp_path / "site_a", tmp_path / "site_b"
    make_dist(site_a, "shared-pkg", "1.0")
    make_dist(site_a, "only-in-a", "0.1")
    make_dist(site_b, "shared-pkg", "2.0")
    make_dist(site_b, "only-in-b", "3.0")
    return project, record(project, site_a), record(project, site_b)


def test_diff_env_lists_added_removed_and_changed_packages(cli, two_environments) -> None:
    repo, run_a, run_b = two_environments
    result = cli(repo, "diff", run_a, run_b, "--env")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "environment" in lines
    assert "only-in-a 0.1 (missing)" in lines
    assert "only-in-b (missing) 3.0" in lines
    assert "shared-pkg 1.0 2.0" in lines
    assert "packages: 1 added, 1 removed, 1 changed" in lines
    assert "python" not in " ".join(lines)  # the same Python: not shown

    without = cli(repo, "diff", run_a, run_b)
    assert "shared-pkg" not in without.output


def test_diff_env_as_json(cli, two_environments) -> None:
    repo, run_a, run_b = two_environments
    result = cli(repo, "diff", run_a, run_b, "--env", "--format", "json")
    assert result.exit_code == 0, result.output
    env = json.loads(result.output)["env"]
    assert env == {
        "run": [],
        "packages": [
            {"change": "removed", "key": "only-in-a", "a": "0.1"},
            {"change": "added", "key": "only-in-b", "b": "3.0"},
            {"change": "changed", "key": "shared-pkg", "a": "1.0", "b": "2.0"},
        ],
        "unrecorded": [],
    }


def test_diff_env_of_identical_environments_says_so(cli, project: Path) -> None:
    run_a, run_b = record(project), record(project)
    result = cli(project, "diff", run_a, run_b, "--env")
    assert result.exit_code == 0, result.output
    assert "environment: identical (same packages, Python and platform)" in result.output


# --- runs recorded before requirements.txt ----------------------------------------------------------


def drop_requirements(repo: Path, run_id: str, tmp_path: Path) -> None:
    """Rewrite the runs branch tip without the run's requirements.txt (as recorded before it)."""
    env = dict(os.environ, GIT_INDEX_FILE=str(tmp_path / "index"))

    def plumbing(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    plumbing("read-tree", "gitcfg-runs")
    plumbing("rm", "-q", "--cached", f"{run_dir(run_id)}/requirements.txt")
    tree = plumbing("write-tree")
    commit = plumbing("commit-tree", tree, "-p", "gitcfg-runs", "-m", "an older run")
    plumbing("update-ref", "refs/heads/gitcfg-runs", commit)


def test_checkout_writes_the_list_beside_the_config_and_says_how_to_install(
    cli, project: Path, tmp_path
) -> None:
    run_id = record(project)
    target = tmp_path / "checkout"
    result = cli(project, "checkout", run_id, str(target))
    assert result.exit_code == 0, result.output
    written = target / "requirements.txt"
    assert f"wrote {written}: the run's installed packages" in result.output
    assert f"pip install -r {written}" in result.output
    assert (target / "config.yaml").exists()
    recorded = read_branch_file(project, requirements_entry(project, run_id)[1])
    text = written.read_text()
    assert text.startswith(f"# installed packages of gitcfg run {run_id} (Python ")
    body = [line for line in text.splitlines() if not line.startswith("# installed packages")]
    assert [ln for ln in body if not ln.startswith("# install them")] == recorded.splitlines()
    git(target, "worktree", "remove", "--force", str(target))


def test_checkout_keeps_the_projects_own_requirements_file(cli, project: Path, tmp_path) -> None:
    (project / "requirements.txt").write_text("numpy\n")
    git(project, "add", "requirements.txt")
    git(project, "commit", "-q", "-m", "deps")
    run_id = record(project)
    target = tmp_path / "checkout"
    result = cli(project, "checkout", run_id, str(target))
    assert result.exit_code == 0, result.output
    assert (target / "requirements.txt").read_text() == "numpy\n"
    assert "PyYAML==" in (target / "gitcfg-requirements.txt").read_text()
    assert f"pip install -r {target / 'gitcfg-requirements.txt'}" in result.output


def test_a_run_recorded_before_the_list_checks_out_with_a_note(
    cli, project: Path, tmp_path
) -> None:
    old_run, new_run = record(project), record(project)
    drop_requirements(project, old_run, tmp_path)
    target = tmp_path / "checkout"
    result = cli(project, "checkout", old_run, str(target))
    assert result.exit_code == 0, result.output
    assert "note: the run has no list of installed packages" in result.output
    assert not (target / "requirements.txt").exists() and (target / "config.yaml").exists()

    diff = cli(project, "diff", old_run, new_run, "--env")
    assert diff.exit_code == 0, diff.output
    assert f"packages: not recorded for {old_run[:10]}" in diff.output
    as_json = json.loads(cli(project, "diff", old_run, new_run, "--env", "-f", "json").output)
    assert as_json["env"]["unrecorded"] == [old_run] and as_json["env"]["packages"] == []


def test_a_cold_cache_is_listed_at_the_end_and_the_next_run_has_it_at_the_start(
    project: Path,
) -> None:
    # A fresh HOME: the first run finds no cache, so track() does not wait for the listing; the
    # run's final commit lists the packages. The second run finds the cache: its start commit has it.
    def start_commit_has_list(run_id: str) -> bool:
        start = git(
            project, "log", "gitcfg-runs", "--format=%H", "--grep", f"run {run_id}: started"
        )
        path = f"{run_dir(run_id)}/requirements.txt"
        return bool(git(project, "ls-tree", "--name-only", start, path))

    cold, warm = record(project), record(project)
    assert not start_commit_has_list(cold) and start_commit_has_list(warm)
    assert requirements_entry(project, cold)[0] == requirements_entry(project, warm)[0]


def test_diff_env_shows_python_and_platform_when_they_differ(cli, project: Path, tmp_path) -> None:
    run_a, run_b = record(project), record(project)
    # run b as if recorded elsewhere: rewrite its run.yaml with git, not gitcfg
    path = f"{run_dir(run_b)}/run.yaml"
    meta = read_branch_file(project, path)
    meta = meta.replace(f"python: {run_meta_python(meta)}", "python: 3.99.0")
    meta = meta.replace("platform: ", "platform: Other-")
    env = dict(os.environ, GIT_INDEX_FILE=str(tmp_path / "index"))

    def plumbing(*args: str, input: str | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=project,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    blob = plumbing("hash-object", "-w", "--stdin", input=meta)
    plumbing("read-tree", "gitcfg-runs")
    plumbing("update-index", "--cacheinfo", f"100644,{blob},{path}")
    commit = plumbing("commit-tree", plumbing("write-tree"), "-p", "gitcfg-runs", "-m", "moved")
    plumbing("update-ref", "refs/heads/gitcfg-runs", commit)

    result = cli(project, "diff", run_a, run_b, "--env", "-f", "json")
    assert result.exit_code == 0, result.output
    changes = {c["key"]: (c["a"], c["b"]) for c in json.loads(result.output)["env"]["run"]}
    python = "{}.{}.{}".format(*sys.version_info[:3])
    assert changes["python"] == (python, "3.99.0")
    assert changes["platform"][1] == "Other-" + changes["platform"][0]
    table = cli(project, "diff", run_a, run_b, "--env")
    lines = [" ".join(line.split()) for line in table.output.splitlines()]
    assert f"python {python} 3.99.0" in lines
    assert "packages: identical" in lines


def run_meta_python(run_yaml: str) -> str:
    import yaml

    return yaml.safe_load(run_yaml)["python"]
