"""matmul_kernel lets every thread of an edge block write its result, also outside out."""

HINT = "Only threads with row < rows and col < cols write to out."
PATCH = [("""        if row < rows and col < cols:
            out[batch_position""", """        if True:
            out[batch_position""")]
