"""HTTP bodies of the five dialects and the operator endpoints, as the documents spell them."""
