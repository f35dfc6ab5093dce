"""The one unified-diff reader: files, hunks, touched files and edited lines."""

from agent.patches import edited_lines, parse_patch, patch_files

PATCH = """\
diff --git a/m.py b/m.py
index 1111111..2222222 100644
--- a/m.py
+++ b/m.py
@@ -1,4 +1,4 @@
 def f(a, b):
-    return a - b
+    return a + b
 
 x = 1
@@ -10,2 +10,3 @@
 y = 2
+z = 3
 w = 4
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1,2 @@
+a = 1
+b = 2
"""


def test_files_and_hunks() -> None:
    files = parse_patch(PATCH)
    assert [(f.path, f.created) for f in files] == [("m.py", False), ("new.py", True)]
    first = files[0].hunks[0]
    assert first.old_start == 1
    assert first.old == ["def f(a, b):", "    return a - b", "", "x = 1"]
    assert first.new == ["def f(a, b):", "    return a + b", "", "x = 1"]
    assert patch_files(PATCH) == ["m.py", "new.py"]


def test_edited_lines_count_changes_and_insertions_in_original_numbering() -> None:
    assert edited_lines(PATCH) == {"m.py": [2, 10], "new.py": [1]}
