"""matmul_kernel copies tile elements without checking that they lie inside a and b."""

HINT = "Outside the matrices (row >= rows, col >= cols or k >= inner) store 0 in the tile instead of reading."
PATCH = [("""                if row < rows and k < inner:
                    a_tile[ty + TILE * i, tx] = a[a_base + row * a_row + k * a_col]
                else:
                    a_tile[ty + TILE * i, tx] = 0
                col = first_col + tx + TILE * i
                k = start + ty
                if k < inner and col < cols:
                    b_tile[ty, tx + TILE * i] = b[b_base + k * b_row + col * b_col]
                else:
                    b_tile[ty, tx + TILE * i] = 0
""", """                a_tile[ty + TILE * i, tx] = a[a_base + row * a_row + k * a_col]
                col = first_col + tx + TILE * i
                k = start + ty
                b_tile[ty, tx + TILE * i] = b[b_base + k * b_row + col * b_col]
""")]
