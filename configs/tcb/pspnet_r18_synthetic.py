# CPU image baseline on the synthetic video semantic set: PSPNet (the st-ppm CPU default's head
# with no reference frames), trained on single frames, 16 per iteration (the frames per
# iteration of the TCB CPU defaults), tested frame by frame.
_base_ = './tcb_st-ppm_r18_synthetic.py'

model = dict(ref_offsets=())
train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=[
        dict(type='TemporalOffsetFrameSample', offsets=(), reverse_prob=0.),
        *_base_.train_pipeline[1:]
    ]))
