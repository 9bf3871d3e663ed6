"""Image captioning: a CNN encoder and an LSTM decoder with soft attention (Show, Attend and Tell)."""
