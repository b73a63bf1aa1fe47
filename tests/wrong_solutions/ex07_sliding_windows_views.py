"""Exercise 7.1 returning views of the series (`unfold` without a copy): writing into the
inputs changes the series. The fork used to give each returned tensor its own storage,
so this passed unseen."""

SET = "ex07_pytorch"
TESTS = ["test_sliding_windows_returns_copies"]
MATCH = "copies"


def sliding_windows(series, length, horizon=1, *, stride=1):  # type: ignore[no-untyped-def]
    x = series if series.ndim == 2 else series.unsqueeze(1)  # (T, F)
    windows = x.unfold(0, length + horizon, stride).transpose(1, 2)  # (N, L + P, F), a view
    return windows[:, :length], windows[:, length:]
