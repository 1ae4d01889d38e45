variable "name" {
  type = string
}

resource "aws_s3_bucket" "this" {
  bucket = "acme-${var.name}"
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Suspended"
  }
}
