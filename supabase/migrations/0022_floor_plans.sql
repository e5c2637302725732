-- Floor plans (docs/floor-plans.md): one image per storey of a property, re-encoded before it
-- is stored, with the calibration that maps its pixels to Unreal world coordinates. A property
-- is a label of sessions, so a plan may exist before any session of its property.

CREATE TABLE IF NOT EXISTS public.floor_plans (
    project_id UUID NOT NULL CONSTRAINT floor_plans_project_id_fkey
        REFERENCES public.projects (id),
    property_id TEXT NOT NULL,
    storey SMALLINT NOT NULL,
    name TEXT,
    image_type TEXT NOT NULL CONSTRAINT floor_plans_image_type_check
        CHECK (image_type IN ('png', 'jpeg')),
    image BYTEA NOT NULL,
    width INTEGER NOT NULL CONSTRAINT floor_plans_width_check CHECK (width > 0),
    height INTEGER NOT NULL CONSTRAINT floor_plans_height_check CHECK (height > 0),
    -- The calibration as the admin gave it (two reference points, or a box), and the affine map
    -- from pixels to world centimetres it makes: x = a·u + b·v + c, y = d·u + e·v + f.
    calibration JSONB,
    pixel_to_world FLOAT8[] CONSTRAINT floor_plans_pixel_to_world_check
        CHECK (pixel_to_world IS NULL OR cardinality(pixel_to_world) = 6),
    -- The world heights (cm) the storey spans, for telling samples of one storey from another.
    z_min FLOAT8,
    z_max FLOAT8,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT floor_plans_pkey PRIMARY KEY (project_id, property_id, storey),
    CONSTRAINT floor_plans_calibrated_check CHECK ((calibration IS NULL) = (pixel_to_world IS NULL)),
    CONSTRAINT floor_plans_heights_check CHECK (z_min IS NULL OR z_max IS NULL OR z_min < z_max)
);

ALTER TABLE public.floor_plans ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND NOT EXISTS (
           SELECT 1 FROM pg_policies
           WHERE schemaname = 'public' AND tablename = 'floor_plans'
             AND policyname = 'Allow all for service role'
       ) THEN
        CREATE POLICY "Allow all for service role" ON public.floor_plans
            FOR ALL TO service_role USING (true) WITH CHECK (true);
    END IF;
END
$$;
