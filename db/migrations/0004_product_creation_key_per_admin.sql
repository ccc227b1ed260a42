DROP INDEX "products_creation_key_idx";--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "creation_user_id" bigint;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "creation_request_hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "products_creation_key_idx" ON "products" USING btree ("creation_user_id","creation_key");