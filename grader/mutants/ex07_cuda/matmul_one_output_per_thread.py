"""matmul_kernel loads and computes only the first of each thread's WORK x WORK outputs (i = j = 0)."""

HINT = "Each thread owns WORK x WORK outputs, rows ty + TILE * i and cols tx + TILE * j: load, multiply and store them all."
PATCH = [("""                for i in range(WORK):
                    for j in range(WORK):
                        acc[i, j] += a_part[i] * b_part[j]""", """                acc[0, 0] += a_part[0] * b_part[0]""")]
