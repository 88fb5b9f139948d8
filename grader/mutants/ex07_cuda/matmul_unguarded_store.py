"""matmul_kernel lets every thread of an edge block write its results, also outside out."""

HINT = "Only outputs with row < rows and col < cols are written."
PATCH = [("""                if row < rows and col < cols:
                    out[out_base""", """                if True:
                    out[out_base""")]
