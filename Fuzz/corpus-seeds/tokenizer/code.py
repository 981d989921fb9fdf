def f(x):
    return x**2  # square

print([f(i) for i in range(10)])
