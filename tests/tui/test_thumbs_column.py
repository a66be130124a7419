"""Which column the preview pane shows: the one whose values are images you can open."""
from tui.thumbs import image_column

from tests.support import PHOTOS


def test_resolving_path_beats_a_bare_file_name_in_a_photo_column():
    cols = ["photo_id", "dist", "photo_image_url"]
    rows = [("chelsea.jpg", 0.1, str(PHOTOS / "chelsea.jpg")), ("coffee.jpg", 0.2, str(PHOTOS / "coffee.jpg"))]
    assert image_column(cols, rows) == 2


def test_url_column_wins_and_nothing_when_no_images():
    cols = ["id", "photo", "url"]
    rows = [(1, "a.jpg", "https://x/a.jpg")]
    assert image_column(cols, rows) == 2
    assert image_column(["id", "name"], [(1, "cat")]) is None
    assert image_column(["id", "name"], [(1, "cat.jpg")]) is None  # a bare name in an unnamed column


def test_named_column_of_file_names_is_a_fallback():
    assert image_column(["photo"], [("cat.jpg",)]) == 0
