print("score-cli")
