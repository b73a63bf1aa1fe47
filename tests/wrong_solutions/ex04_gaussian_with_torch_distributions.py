"""Exercise 4.2 through `torch.distributions`, which the README leaves out."""

import torch

SET = "ex04_probability"
TESTS = ["test_gaussian_fixed_inputs"]
MATCH = "forbids"


def gaussian_log_pdf(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    return torch.distributions.MultivariateNormal(mean, covariance_matrix=cov).log_prob(x)
