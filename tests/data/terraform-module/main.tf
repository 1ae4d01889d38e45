terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "deployer" {
  name                 = "deployer"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 7200
}

resource "aws_db_instance" "orders" {
  identifier          = "orders"
  engine              = "postgres"
  engine_version      = "16.3"
  instance_class      = "db.t4g.micro"
  allocated_storage   = 20
  username            = "orders"
  skip_final_snapshot = true
}

module "buckets" {
  source   = "./modules/bucket"
  for_each = toset(["assets", "logs"])

  name = each.key
}
