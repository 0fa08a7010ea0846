print("score-bench")
