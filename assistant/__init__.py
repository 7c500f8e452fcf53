"""memchat's short-term memory and generation: the memory-network reader, the LSTM generator, the assistant."""
