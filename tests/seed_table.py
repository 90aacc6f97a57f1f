"""The table every rendering of the seed must reproduce."""

# The seed's table, as the seed's post prints it (../shared/seed/README.md, item 5).
SEED_TABLE = """\
| Layer | Input size | Output size | Description |
|---|---|---|---|
| Conv1 + ReLU | (28, 28, 1) | (28, 28, 32) | 특징 추출 |
| MaxPool | (28, 28, 32) | (14, 14, 32) | 차원 축소 |
| Residual Block 1 | (14, 14, 32) | (14, 14, 64) | Residual Block (단축 경로) |
| MaxPool | (14, 14, 64) | (7, 7, 64) | 차원 축소 |
| Residual Block 2 | (7, 7, 64) | (7, 7, 128) | Residual Block (단축 경로) |
| MaxPool | (7, 7, 128) | (3, 3, 128) | 차원 축소 |
| Flatten | (3, 3, 128) | (1152, ) | 펼치기 (2D -> 1D) |
| fc1 + ReLU | (1152, ) | (512, ) | 특징 결합 |
| fc2 | (512, ) | (10, ) | 라벨 분류 (0~9 라벨) |
"""
