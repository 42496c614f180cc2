"""The time the test servers live at: a quiet Friday morning in November, within service
hours and before the 16:00 cut-off, well away from the Double 11 rush."""

TEST_NOW = "2026-11-20T10:30:00"
