"""Exercise 1.2 that converts X but not w and b to X's dtype: with float64 X and no mistake,
float32 weights come back (passed: every case had w and b in X's dtype already)."""

SET = "ex01_history"
TESTS = ["test_perceptron_epoch_fixed_inputs"]
MATCH = "dtype"


def perceptron_epoch(w, b, X, y, lr=1.0):  # type: ignore[no-untyped-def]
    if X.ndim != 2 or len(X) == 0 or y.shape != (len(X),) or w.shape != (X.shape[1],):
        raise ValueError("bad shapes")
    if b.ndim != 0 or lr <= 0 or not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("bad b, lr or labels")
    X = X if X.is_floating_point() else X.float()
    y = y.to(X.dtype)
    w, b, mistakes = w.clone(), b.clone(), 0
    for i in range(len(X)):
        if y[i] * (X[i] @ w.to(X.dtype) + b) <= 0:
            w, b, mistakes = w + lr * y[i] * X[i], b + lr * y[i], mistakes + 1
    return w, b, mistakes
