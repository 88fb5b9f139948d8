"""EarlyStopping counts every epoch that did not improve since the start, never resetting the count after
an improvement."""

HINT = "After an improvement (val_loss < best − min_delta), set the count of bad epochs back to 0."

PATCH = [("            self.best = float(val_loss)\n            self.bad_epochs = 0\n",
          "            self.best = float(val_loss)\n")]
