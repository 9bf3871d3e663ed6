"""A text chatbot with RNNs: a GRU encoder-decoder with Luong attention, trained on chit-chat pairs."""
