"""The micro-kernel always overwrites its tile of C, so only the last depth block of KC survives."""

HINT = "When k > KC the product is a sum over depth blocks: after the first block, add the tile into C."
PATCH = [("            if accumulate:\n"
          "                for j in range(cols):\n"
          "                    c_row[j] += acc[i, j]\n",
          "            if False:\n"
          "                for j in range(cols):\n"
          "                    c_row[j] += acc[i, j]\n"),
         ("                if accumulate:\n"
          "                    c[at + j * col_step] += acc[i, j]\n",
          "                if False:\n"
          "                    c[at + j * col_step] += acc[i, j]\n")]
